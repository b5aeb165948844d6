// The EDN history format: Jepsen operation maps, one per line or in vectors (see history_file.h).
#include "sim/checkers/history_formats.h"
#include "sim/checkers/jepsen_events.h"

namespace cairn::sim::linearizability {
namespace {

using Kind = EdnValue::Kind;

class EdnHistoryParser {
 public:
  explicit EdnHistoryParser(const HistoryParseOptions& options)
      : options_(options), pairing_(options.limits.max_operations) {}

  Result<ParsedHistory> parse(std::string_view text) {
    // The reader works on whole forms, so the line limit is checked on its own first.
    CAIRN_RETURN_IF_ERROR(for_each_line(text, options_.limits, [](uint64_t, std::string_view) { return Status{}; }));
    EdnReader reader(text);
    while (true) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<EdnValue> form, reader.next());
      if (!form) break;
      CAIRN_RETURN_IF_ERROR(add_top_level(*form));
    }
    parsed_.superseded_invocations = pairing_.superseded_invocations();
    parsed_.operations = std::move(pairing_).finish();
    return std::move(parsed_);
  }

 private:
  static Status error(const EdnValue& at, std::string_view message) {
    return Status::invalid_argument("line " + std::to_string(at.line) + ": " + std::string(message));
  }

  // A history is a stream of operation maps, or a vector or list of them (Knossos's files).
  Status add_top_level(const EdnValue& form) {
    if (form.kind != Kind::kVector && form.kind != Kind::kList) return add_operation(form);
    for (const EdnValue& item : form.items) CAIRN_RETURN_IF_ERROR(add_operation(item));
    return Status{};
  }

  Status add_operation(const EdnValue& form) {
    const EdnValue& map = form.kind == Kind::kTagged && !form.items.empty() ? form.items.front() : form;
    if (map.kind != Kind::kMap) {
      return error(form, "expected an operation map {:process .. :type .. :f .. :value ..}, got " +
                             std::string(edn_kind_name(map.kind)));
    }
    const EdnValue* process = map.find_keyword("process");
    if (process == nullptr) return error(map, "the operation has no :process");
    if (process->kind != Kind::kInteger) {
      ++parsed_.nemesis_events;  // :nemesis and other non-client processes
      return Status{};
    }
    CAIRN_ASSIGN_OR_RETURN(HistoryEvent event, event_from_map(map, *process));
    return pairing_.add(event);
  }

  Result<HistoryEvent> event_from_map(const EdnValue& map, const EdnValue& process) const {
    HistoryEvent event;
    event.line = map.line;
    std::optional<uint64_t> number = parse_decimal<uint64_t>(process.text);
    if (!number) return error(process, ":process must be a non-negative integer, not " + process.text);
    event.process = *number;
    const EdnValue* type = map.find_keyword("type");
    std::optional<EventType> event_type = type != nullptr && type->kind == Kind::kKeyword ? parse_event_type(type->text)
                                                                                          : std::nullopt;
    if (!event_type) return error(map, ":type must be :invoke, :ok, :fail or :info");
    event.type = *event_type;
    const EdnValue* function = map.find_keyword("f");
    std::optional<Function> parsed_function =
        function != nullptr && (function->kind == Kind::kKeyword || function->kind == Kind::kString)
            ? parse_function_name(function->text)
            : std::nullopt;
    if (!parsed_function) {
      return error(map, ":f must be :read, :write, :cas or :delete" +
                            (function == nullptr ? std::string(" (missing)") : ", not " + edn_text(*function)));
    }
    event.function = *parsed_function;
    const EdnValue* key = map.find_keyword("key");
    if (key != nullptr && key->kind != Kind::kNil) event.key = history_value(*key).value_or("");
    CAIRN_RETURN_IF_ERROR(read_event_value(map.find_keyword("value"), options_.key_value_tuples, event));
    return event;
  }

  const HistoryParseOptions& options_;
  EventPairing pairing_;
  ParsedHistory parsed_;
};

}  // namespace

Result<ParsedHistory> parse_edn_history(std::string_view text, const HistoryParseOptions& options) {
  return EdnHistoryParser(options).parse(text);
}

}  // namespace cairn::sim::linearizability
