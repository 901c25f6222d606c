// Building a Snapshot from a validated Config: backends sorted by address, one Maglev tier for
// the primaries and one for the backups per pool. Counters, health and admin overrides (drained,
// disabled) carry over from a previous snapshot by (pool name, backend address), so a reload
// keeps them. Control plane only.
#pragma once

#include <memory>

#include "ringlb/config/config.h"
#include "ringlb/lb/snapshot.h"

namespace ringlb::lb {

// `previous` may be null (startup). With no previous state a backend starts up: the prober's
// first round runs before any worker accepts and corrects it.
std::shared_ptr<Snapshot> build_snapshot(const config::Config& config, const Snapshot* previous);

}  // namespace ringlb::lb
