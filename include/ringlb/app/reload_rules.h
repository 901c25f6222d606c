// Which config changes a SIGHUP reload applies and how. Pools, backends, listeners (added,
// removed, re-bound, re-pooled, backlog, proxy_protocol, datapath) and the other keys reload;
// global.workers, global.user and global.copy_buffers are fixed at startup (threads, the
// process's credentials and each worker's registered buffers already exist).
// Pure; called by the server's reload path (main thread) and by `ringlb diff`.
#pragma once

#include <string>
#include <vector>

#include "ringlb/config/config.h"

namespace ringlb::app {

// One line per change that a reload from `running` to `next` refuses, e.g.
// "global.workers: 0 -> 4"; empty when SIGHUP can apply `next`.
std::vector<std::string> restart_reasons(const config::Config& running, const config::Config& next);

// The listener sockets a reload opens and closes. A listener whose bind changed is both
// removed (its old sockets close) and added (new sockets on the new address) under its name.
// Every other listener change keeps the sockets: pool and proxy_protocol are read from the
// snapshot at each accept, a new backlog is applied with listen(2) on the same socket, and
// the datapath is chosen per connection.
struct ListenerPlan {
  std::vector<std::string> removed;      // names, sorted
  std::vector<config::Listener> added;   // sorted by name
  bool empty() const { return removed.empty() && added.empty(); }
};
ListenerPlan plan_listeners(const config::Config& running, const config::Config& next);

}  // namespace ringlb::app
