// Reading ringlb's stderr as events. One line per event, in either format of the contract:
//   text: 2026-11-23T10:59:00.123Z info EVENT key=value key="value with spaces"
//   json: {"ts":"...","level":"info","event":"EVENT","key":"value",...}
// and the tiny flat-JSON reader both this and `ringlb route --json` need. Pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringlb::it {

struct LogEvent {
  std::string ts, level, event;
  std::map<std::string, std::string> kv;
  std::string raw;
  // True if every (key, value) pair in `want` is present with that value.
  bool has(const std::map<std::string, std::string>& want) const;
};

std::optional<LogEvent> parse_log_line(std::string_view line);
std::vector<LogEvent> parse_log(std::string_view text);

// A JSON value as flat readers need it: a scalar as its text (strings unescaped, numbers,
// true/false/null as written) or an array of scalars.
struct JsonValue {
  std::string scalar;
  std::vector<std::string> array;
  bool is_array = false;
};
// One JSON object whose values are scalars or arrays of scalars; nested objects are skipped.
// nullopt if the text is not such an object.
std::optional<std::map<std::string, JsonValue>> parse_flat_json(std::string_view text);

}  // namespace ringlb::it
