// Prometheus text format writer (see exposition.h).
#include "ringlb/admin/exposition.h"

#include <fmt/format.h>

namespace ringlb::admin {
namespace {

constexpr std::string_view kPrefix = "ringlb_";

// The format's escapes: backslash and line feed everywhere, double quote in label values only.
std::string escape(std::string_view text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) { return escape(value, /*quotes=*/true); }

std::string escape_help(std::string_view help) { return escape(help, /*quotes=*/false); }

void Exposition::family(std::string_view name, MetricType type, std::string_view help) {
  if (name == current_) return;
  current_ = name;
  out_ += fmt::format("# HELP {}{} {}\n# TYPE {}{} {}\n", kPrefix, name, escape_help(help), kPrefix, name,
                      type == MetricType::counter ? "counter" : "gauge");
}

void Exposition::sample(std::string_view name, std::string_view labels, uint64_t value) {
  if (labels.empty()) {
    out_ += fmt::format("{}{} {}\n", kPrefix, name, value);
  } else {
    out_ += fmt::format("{}{}{{{}}} {}\n", kPrefix, name, labels, value);
  }
}

void add_label(std::string& labels, std::string_view key, std::string_view value) {
  if (!labels.empty()) labels += ',';
  labels += fmt::format("{}=\"{}\"", key, escape_label_value(value));
}

}  // namespace ringlb::admin
