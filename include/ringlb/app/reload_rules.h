// Which config changes a SIGHUP reload applies and which need a restart. Pools, backends and
// the other keys reload; listeners added or removed, a listener's bind, backlog or datapath,
// global.workers and global.user are fixed at startup (sockets and threads already exist).
// Pure; called by the server's reload path (main thread) and by `ringlb diff`.
#pragma once

#include <string>
#include <vector>

#include "ringlb/config/config.h"

namespace ringlb::app {

// One line per change that a reload from `running` to `next` refuses, e.g.
// "listener public: bind 0.0.0.0:443 -> 0.0.0.0:8443"; empty when SIGHUP can apply `next`.
std::vector<std::string> restart_reasons(const config::Config& running, const config::Config& next);

}  // namespace ringlb::app
