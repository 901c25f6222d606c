// Prometheus text format writer (see exposition.h).
#include "ringlb/admin/exposition.h"

#include <fmt/format.h>

namespace ringlb::admin {
namespace {

constexpr std::string_view kPrefix = "ringlb_";

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

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
