// `ringlb route`: where a client goes with every backend healthy, its fallbacks in order and the
// table fingerprint — computed by the same snapshot and candidate code the workers use, so the
// answer is the data path's answer, on any host with the same config. Control plane.
#pragma once

#include <string>

#include "ringlb/common/result.h"
#include "ringlb/config/config.h"

namespace ringlb::app {

struct Route {
  std::string listener;
  std::string pool;
  std::string client;
  std::string backend;
  std::vector<std::string> fallbacks;  // the retries, in the order they would be tried
  std::string fingerprint;             // of the tier in use
};

Result<Route> compute_route(const config::Config& config, std::string_view listener, std::string_view client);
std::string format_route(const Route& route, bool json);

}  // namespace ringlb::app
