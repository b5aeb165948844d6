// The register specifications of the linearizability checker (see linearizability_model.h).
#include "sim/checkers/linearizability_model.h"

#include <string>

namespace cairn::sim::linearizability {

std::string_view model_kind_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kRegister: return "register";
    case ModelKind::kCasRegister: return "cas-register";
    case ModelKind::kKeyValue: return "kv";
  }
  return "?";
}

std::optional<ModelKind> parse_model_kind(std::string_view name) {
  for (ModelKind kind : {ModelKind::kRegister, ModelKind::kCasRegister, ModelKind::kKeyValue}) {
    if (model_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

namespace {

bool allowed(ModelKind kind, Function function) {
  switch (function) {
    case Function::kRead:
    case Function::kWrite: return true;
    case Function::kCas: return kind != ModelKind::kRegister;
    case Function::kDelete: return kind == ModelKind::kKeyValue;
  }
  return false;
}

}  // namespace

Status check_functions_allowed(ModelKind kind, const History& history) {
  for (const Operation& operation : history) {
    if (allowed(kind, operation.function)) continue;
    std::string where = operation.source_line > 0 ? "line " + std::to_string(operation.source_line) + ": " : "";
    return Status::invalid_argument(where + "the " + std::string(model_kind_name(kind)) + " model has no " +
                                    std::string(function_name(operation.function)) + " operation" +
                                    (operation.function == Function::kCas ? " (use --model cas-register or kv)"
                                                                          : " (use --model kv)"));
  }
  return Status{};
}

std::optional<ValueId> apply_operation(ValueId state, const ModelOperation& operation) {
  switch (operation.function) {
    case Function::kRead:
      if (operation.value != state) return std::nullopt;
      return state;
    case Function::kWrite: return operation.value;
    case Function::kCas:
      if (operation.expected != state) return std::nullopt;
      return operation.value;
    case Function::kDelete: return kNilValue;
  }
  return std::nullopt;
}

}  // namespace cairn::sim::linearizability
