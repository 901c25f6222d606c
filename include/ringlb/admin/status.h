// The /status page: one JSON object with the listeners, the pools and each backend's health,
// admin state, weight and connections, from one snapshot. Pure over its arguments (backend
// counters are read with relaxed loads); any control-plane thread.
#pragma once

#include <string>

#include "ringlb/admin/metrics.h"
#include "ringlb/lb/snapshot.h"

namespace ringlb::admin {

// {"generation","connections":{"active","accepted","closed"},
//  "listeners":[{"name","bind","pool"}],
//  "pools":[{"name","primary_available","backup_available","backends":[{"address","health",
//    "admin","routable","weight","backup","max_connections","connections_active",
//    "connections_total","connect_failures"}]}]}
std::string render_status(const lb::Snapshot& snap, const WorkerTotals& workers);

}  // namespace ringlb::admin
