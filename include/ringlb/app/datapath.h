// Which data path the process runs: the sockmap program is loaded once at startup, before the
// privilege drop, when any listener may use it. "auto" falls back to splice with one log line;
// "sockmap" makes a failure a startup error. A reload cannot load it later (the privileges
// may be gone), so a reload that needs it and does not have it is refused. Main thread only.
#pragma once

#include <cstdint>
#include <memory>

#include "ringlb/common/result.h"
#include "ringlb/config/config.h"
#include "ringlb/sockmap/sockmap.h"

namespace ringlb::app {

// nullptr when no listener wants it or "auto" fell back; an Error when "sockmap" cannot have it.
Result<std::unique_ptr<sockmap::Sockmap>> load_datapath(const config::Config& config, uint32_t workers);

// A listener with datapath = "sockmap" needs the program loaded in this process.
Status check_datapaths(const config::Config& config, const sockmap::Sockmap* loaded);

}  // namespace ringlb::app
