// ServiceTable: the per-node map from service id to message handler that both network
// implementations use to deliver what arrives. Bindings remove themselves when destroyed, and
// may safely outlive the table (a crashed simulated node's table is replaced on restart).
#pragma once

#include <map>
#include <memory>

#include "core/runtime/network.h"

namespace cairn {

class ServiceTable {
 public:
  ServiceTable();
  ~ServiceTable();
  ServiceTable(const ServiceTable&) = delete;
  ServiceTable& operator=(const ServiceTable&) = delete;

  Result<std::unique_ptr<ServiceBinding>> bind(ServiceId service, MessageHandler handler);
  // Hands the envelope to the handler of its service; NOT_FOUND if none is bound.
  Status dispatch(proto::Envelope&& envelope);
  bool bound(ServiceId service) const;
  // Drops every binding (the bindings' destructors then do nothing).
  void clear();

 private:
  struct Handlers {
    std::map<ServiceId, MessageHandler> by_service;
  };
  class Binding;
  std::shared_ptr<Handlers> handlers_;
};

}  // namespace cairn
