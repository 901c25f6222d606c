// The running balancer: binds every listener once per worker, drops privileges, runs the first
// health round, starts the workers and the prober, then waits for signals on the main thread
// (SIGHUP reload, SIGTERM/SIGINT drain, a second one exits at once). Main thread only.
#pragma once

#include <string>

#include "ringlb/config/config.h"

namespace ringlb::app {

// Returns the process exit status: 0 after a clean drain, 1 on a startup error.
int run_server(config::Config config);

}  // namespace ringlb::app
