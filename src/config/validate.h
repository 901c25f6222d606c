// Cross-value validation of a parsed Config: references between tables, uniqueness, relations
// between fields, and the one environment check (global.user must exist). Private to
// src/config; called by the loader after every single value passed its own checks.
#pragma once

#include "ringlb/common/result.h"
#include "ringlb/config/config.h"
#include "source_map.h"

namespace ringlb::config::detail {

// The first violated rule, located through `where`; Ok when the config is usable as is.
// Expects listeners and pools sorted by name and backends in file order (as loaded).
Status validate(const Config& config, const SourceMap& where);

}  // namespace ringlb::config::detail
