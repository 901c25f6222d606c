// Binding listeners: one SO_REUSEPORT socket per worker per listener, all opened before any is
// handed out, so a failure (address in use, a port < 1024 without CAP_NET_BIND_SERVICE) leaves
// nothing half-bound: the sockets opened so far close with the Result. Main thread, at startup
// and on reload.
#pragma once

#include <cstdint>
#include <vector>

#include "ringlb/common/result.h"
#include "ringlb/config/config.h"
#include "ringlb/worker/listener_mailbox.h"

namespace ringlb::app {

// result[w] holds worker w's sockets, in the order of `listeners`. The error names the listener.
Result<std::vector<std::vector<worker::ListenerSocket>>> bind_listeners(
    const std::vector<config::Listener>& listeners, uint32_t workers);

}  // namespace ringlb::app
