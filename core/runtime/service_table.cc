// Service id -> handler routing shared by the simulated and the TCP network (see service_table.h).
#include "core/runtime/service_table.h"

#include <string>
#include <utility>

namespace cairn {

class ServiceTable::Binding final : public ServiceBinding {
 public:
  Binding(std::weak_ptr<Handlers> handlers, ServiceId service) : handlers_(std::move(handlers)), service_(service) {}
  ~Binding() override {
    if (auto handlers = handlers_.lock()) handlers->by_service.erase(service_);
  }

 private:
  std::weak_ptr<Handlers> handlers_;
  ServiceId service_;
};

ServiceTable::ServiceTable() : handlers_(std::make_shared<Handlers>()) {}
ServiceTable::~ServiceTable() = default;

Result<std::unique_ptr<ServiceBinding>> ServiceTable::bind(ServiceId service, MessageHandler handler) {
  if (!handler) return Status::invalid_argument("binding service " + std::to_string(service) + " without a handler");
  auto [it, inserted] = handlers_->by_service.emplace(service, std::move(handler));
  if (!inserted) return Status::already_exists("service " + std::to_string(service) + " is already bound");
  return std::unique_ptr<ServiceBinding>(std::make_unique<Binding>(handlers_, service));
}

Status ServiceTable::dispatch(proto::Envelope&& envelope) {
  auto it = handlers_->by_service.find(envelope.service());
  if (it == handlers_->by_service.end()) {
    return Status::not_found("no service " + std::to_string(envelope.service()) + " on this node");
  }
  // Copy the handler: it may unbind its own service while running.
  MessageHandler handler = it->second;
  handler(std::move(envelope));
  return {};
}

bool ServiceTable::bound(ServiceId service) const { return handlers_->by_service.count(service) != 0; }

void ServiceTable::clear() { handlers_ = std::make_shared<Handlers>(); }  // old bindings now point at nothing

}  // namespace cairn
