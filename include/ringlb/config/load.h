// Loading a config: TOML text -> validated Config, or the first error with file:line:col and
// key. Nothing here touches a socket: validation is complete before anything binds.
// Control plane only (main thread, or the reload path).
#pragma once

#include <string>
#include <string_view>

#include "ringlb/common/result.h"
#include "ringlb/config/config.h"

namespace ringlb::config {

// Reads and validates `path`. A missing/unreadable file is an Error naming the path.
Result<Config> load_file(const std::string& path);
// Validates TOML `text`; `source_name` is used as the file in error locations.
Result<Config> load_string(std::string_view text, std::string_view source_name);

// The multi-line human summary printed by `ringlb --check` (listeners, pools, backends).
std::string summary(const Config& config);

}  // namespace ringlb::config
