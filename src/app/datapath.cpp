// Data path selection (see datapath.h).
#include "ringlb/app/datapath.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>

#include "ringlb/common/log.h"

namespace ringlb::app {

Result<std::unique_ptr<sockmap::Sockmap>> load_datapath(const config::Config& config, uint32_t workers) {
  const auto wants = [&](config::Datapath d) {
    return std::any_of(config.listeners.begin(), config.listeners.end(),
                       [d](const config::Listener& l) { return l.datapath == d; });
  };
  if (!wants(config::Datapath::automatic) && !wants(config::Datapath::sockmap)) {
    log::info("datapath", {{"selected", "splice"}, {"reason", "every listener has datapath = \"splice\""}});
    return std::unique_ptr<sockmap::Sockmap>();
  }
  std::string why;
  if (config.global.copy_buffers == 0) {
    why = "global.copy_buffers = 0 (a paused sockmap direction is forwarded through copy buffers)";
  } else {
    auto loaded = sockmap::Sockmap::load(config.global.max_connections, workers);
    if (loaded) {
      log::info("datapath", {{"selected", "sockmap"}, {"promote", "per listener: sockmap_promote_after"}});
      return std::move(*loaded);
    }
    why = loaded.error().message;
  }
  if (wants(config::Datapath::sockmap)) {
    return Error{fmt::format("datapath \"sockmap\" is not available: {}", why)};
  }
  log::warn("datapath", {{"selected", "splice"}, {"reason", why}});
  return std::unique_ptr<sockmap::Sockmap>();
}

Status check_datapaths(const config::Config& config, const sockmap::Sockmap* loaded) {
  if (loaded != nullptr) return Ok{};
  for (const config::Listener& l : config.listeners) {
    if (l.datapath == config::Datapath::sockmap) {
      return Error{fmt::format("listener {}: datapath \"sockmap\" is not loaded in this process (it was not "
                               "needed or not available at startup); restart to load it",
                               l.name)};
    }
  }
  return Ok{};
}

}  // namespace ringlb::app
