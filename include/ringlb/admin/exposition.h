// Prometheus text exposition format 0.0.4: a writer that emits each family's HELP and TYPE
// once, then its samples, with label values escaped. Pure (builds a string); any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ringlb::admin {

// Escapes a label value: backslash, double quote and line feed (the format's three escapes).
std::string escape_label_value(std::string_view value);
// Escapes HELP text: backslash and line feed.
std::string escape_help(std::string_view help);

enum class MetricType : uint8_t { counter, gauge };

class Exposition {
 public:
  // Starts a family: "# HELP ringlb_NAME ..." and "# TYPE ringlb_NAME counter|gauge". A family
  // already started is not started again, so rows of one family may share the call.
  void family(std::string_view name, MetricType type, std::string_view help);
  // One sample line of the current family. `labels` is already rendered (label="value",...),
  // "" for none.
  void sample(std::string_view name, std::string_view labels, uint64_t value);

  const std::string& text() const noexcept { return out_; }

 private:
  std::string out_;
  std::string current_;  // the family last started
};

// Appends `key="escaped value"` to `labels`, comma-separated.
void add_label(std::string& labels, std::string_view key, std::string_view value);

}  // namespace ringlb::admin
