// Parsing and formatting of config durations ("250ms", "2s", "5m", "1h") and sizes
// ("64KiB", "4MiB", "10KB"). Strict: an unsigned decimal integer immediately followed by a
// case-sensitive unit; anything else (sign, fraction, spaces, missing unit) is an error.
#include "ringlb/common/units.h"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <utility>

namespace ringlb {
namespace {

// Splits "123unit" into its leading decimal count and the unit suffix. Fails on a missing
// count (including signs and leading spaces) or on a count that overflows uint64_t.
struct Split {
  uint64_t count = 0;
  std::string_view unit;
};

Result<Split> split_count(std::string_view text, std::string_view what) {
  if (text.empty()) return Error{fmt::format("empty {}", what)};
  size_t i = 0;
  uint64_t count = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
    if (count > (kMax - digit) / 10) {
      return Error{fmt::format("{} \"{}\" is too large", what, text)};
    }
    count = count * 10 + digit;
    ++i;
  }
  if (i == 0) {
    return Error{fmt::format("invalid {} \"{}\": expected an unsigned integer and a unit",
                             what, text)};
  }
  return Split{count, text.substr(i)};
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, int64_t>, 4> kUnits{{
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 60 * 60 * 1000},
  }};
  auto split = split_count(text, "duration");
  if (!split) return std::move(split).error();
  if (split->unit.empty()) {
    return Error{fmt::format("duration \"{}\" has no unit: write e.g. \"{}s\" or \"{}ms\"",
                             text, split->count, split->count)};
  }
  if (split->unit.front() == '.') {
    return Error{fmt::format("invalid duration \"{}\": no fractions, use a smaller unit "
                             "(\"1500ms\", not \"1.5s\")",
                             text)};
  }
  for (const auto& [name, millis] : kUnits) {
    if (split->unit != name) continue;
    // Duration::rep is int64_t: the product must fit there, not just in uint64_t.
    const auto limit = static_cast<uint64_t>(std::numeric_limits<Duration::rep>::max() / millis);
    if (split->count > limit) return Error{fmt::format("duration \"{}\" is too large", text)};
    return Duration{static_cast<Duration::rep>(split->count) * millis};
  }
  return Error{fmt::format("invalid duration \"{}\": unit must be ms, s, m or h", text)};
}

Result<uint64_t> parse_size(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 7> kUnits{{
      {"B", 1},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
  }};
  auto split = split_count(text, "size");
  if (!split) return std::move(split).error();
  if (split->unit.empty()) {
    return Error{fmt::format("size \"{}\" has no unit: write e.g. \"{}B\" or \"{}KiB\"", text,
                             split->count, split->count)};
  }
  for (const auto& [name, factor] : kUnits) {
    if (split->unit != name) continue;
    if (split->count > std::numeric_limits<uint64_t>::max() / factor) {
      return Error{fmt::format("size \"{}\" is too large", text)};
    }
    return split->count * factor;
  }
  return Error{
      fmt::format("invalid size \"{}\": unit must be B, KiB, MiB, GiB, KB, MB or GB", text)};
}

std::string format_duration(Duration d) {
  const int64_t ms = d.count();
  // Magnitude as unsigned so that INT64_MIN does not overflow on negation.
  const uint64_t mag = ms < 0 ? uint64_t{0} - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  const char* sign = ms < 0 ? "-" : "";
  if (mag == 0) return "0s";
  if (mag % 3'600'000 == 0) return fmt::format("{}{}h", sign, mag / 3'600'000);
  if (mag % 60'000 == 0) return fmt::format("{}{}m", sign, mag / 60'000);
  if (mag % 1'000 == 0) return fmt::format("{}{}s", sign, mag / 1'000);
  return fmt::format("{}{}ms", sign, mag);
}

}  // namespace ringlb
