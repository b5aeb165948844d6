// JsonWriter: writes one compact JSON value with correct string escaping, for the machine
// outputs of cairn-sim (`run --json`, `sweep --json`). Keys appear in the order written, so the
// output's field order is part of its contract.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::sim {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(uint64_t number);
  JsonWriter& value(int64_t number);
  JsonWriter& value(uint32_t number) { return value(static_cast<uint64_t>(number)); }
  JsonWriter& value(int number) { return value(static_cast<int64_t>(number)); }
  JsonWriter& value(double number);
  JsonWriter& value(bool flag);
  JsonWriter& null_value();

  const std::string& text() const { return text_; }

 private:
  void separate();
  std::string text_;
  std::vector<bool> first_in_scope_;
  bool after_key_ = false;
};

std::string json_quote(std::string_view text);

}  // namespace cairn::sim
