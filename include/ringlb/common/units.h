// Durations and sizes as operators write them in the config: "250ms", "2s", "5m", "1h";
// "64KiB", "4MiB". Pure; any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringlb/common/result.h"

namespace ringlb {

using Duration = std::chrono::milliseconds;

// Units: ms, s, m, h (case-sensitive). An integer count, no sign, no fraction, no spaces
// ("1.5s" is an error: write "1500ms"). Overflow is an error. Errors carry only a message.
Result<Duration> parse_duration(std::string_view text);
// Units: B, KiB, MiB, GiB (binary), and KB, MB, GB (decimal). Integer count; no unit = error.
Result<uint64_t> parse_size(std::string_view text);

// The shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 300000ms -> "5m".
std::string format_duration(Duration d);

}  // namespace ringlb
