// Structured log lines (see log.h). The formatting is pure (render); write() adds the wall-clock
// timestamp and emits the line with one write(2) to stderr.
#include "ringlb/common/log.h"

#include <fmt/format.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

namespace ringlb::log {
namespace {

std::atomic<Format> g_format{Format::text};
std::atomic<Level> g_min_level{Level::info};

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view s) noexcept {
  if (s.empty()) return true;
  for (unsigned char c : s) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return true;
  }
  return false;
}

void append_timestamp(std::string& out, uint64_t unix_ms) {
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&secs, &utc);
  out += fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, unix_ms % 1000);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void set_format(Format format) noexcept { g_format.store(format, std::memory_order_relaxed); }
void set_min_level(Level level) noexcept { g_min_level.store(level, std::memory_order_relaxed); }

std::string render(Format format, uint64_t unix_ms, Level level, std::string_view event,
                   std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(128);
  if (format == Format::json) {
    out += "{\"ts\":\"";
    append_timestamp(out, unix_ms);
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"event\":";
    append_json_string(out, event);
    for (const Field& f : fields) {
      out += ',';
      append_json_string(out, f.key);
      out += ':';
      if (f.numeric) {
        out += f.value;
      } else {
        append_json_string(out, f.value);
      }
    }
    out += "}\n";
    return out;
  }
  append_timestamp(out, unix_ms);
  out += ' ';
  out += level_name(level);
  out += ' ';
  out += event;
  for (const Field& f : fields) {
    out += ' ';
    out += f.key;
    out += '=';
    if (!f.numeric && needs_quotes(f.value)) {
      append_json_string(out, f.value);  // JSON string escaping doubles as a safe text quoting
    } else {
      out += f.value;
    }
  }
  out += '\n';
  return out;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) noexcept {
  if (level < g_min_level.load(std::memory_order_relaxed)) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const uint64_t unix_ms = static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
  try {
    const std::string line = render(g_format.load(std::memory_order_relaxed), unix_ms, level, event, fields);
    // A short write to stderr (a full pipe) drops the rest of the line rather than blocking
    // twice; logs must never stall the data plane for long.
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  } catch (...) {
    // Out of memory while formatting a log line: drop the line.
  }
}

std::string errno_name(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : fmt::format("errno {}", err);
}

}  // namespace ringlb::log
