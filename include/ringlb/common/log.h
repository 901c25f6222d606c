// Structured logging: one line per event on stderr, either text
// ("2026-11-23T10:59:00.123Z info health pool=gw backend=10.0.1.11:443 state=down") or JSON
// ({"ts":...,"level":"info","event":"health",...}). Each line is written with a single write(2),
// so lines from different threads never interleave. Any thread; the format is set once at
// startup before threads start.
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ringlb::log {

enum class Level : uint8_t { debug, info, warn, error };
enum class Format : uint8_t { text, json };

void set_format(Format format) noexcept;
void set_min_level(Level level) noexcept;

// A key and its value, already rendered as text. Numbers are rendered as JSON numbers in JSON
// format; strings are quoted (JSON) or quoted when they contain spaces, quotes or '=' (text).
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), numeric(true) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), numeric(true) {}

  std::string_view key;
  std::string value;
  bool numeric = false;
};

// Renders one line (with trailing newline) without writing it: pure except for the timestamp
// argument, so tests can check the format.
std::string render(Format format, uint64_t unix_ms, Level level, std::string_view event,
                   std::initializer_list<Field> fields);

void write(Level level, std::string_view event, std::initializer_list<Field> fields) noexcept;

inline void debug(std::string_view event, std::initializer_list<Field> fields = {}) noexcept { write(Level::debug, event, fields); }
inline void info(std::string_view event, std::initializer_list<Field> fields = {}) noexcept { write(Level::info, event, fields); }
inline void warn(std::string_view event, std::initializer_list<Field> fields = {}) noexcept { write(Level::warn, event, fields); }
inline void error(std::string_view event, std::initializer_list<Field> fields = {}) noexcept { write(Level::error, event, fields); }

// Appends `s` as a JSON string literal (quotes included, control bytes escaped). Also used by
// the admin API's JSON responses.
void append_json_string(std::string& out, std::string_view s);

// "Connection refused" style text for a positive errno, plus its symbolic name ("ECONNREFUSED").
std::string errno_name(int err);

}  // namespace ringlb::log
