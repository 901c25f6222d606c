// `ringlb route` (see route.h).
#include "ringlb/app/route.h"

#include <fmt/format.h>

#include <algorithm>

#include "ringlb/lb/flow_hash.h"
#include "ringlb/lb/snapshot_builder.h"

namespace ringlb::app {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<Route> compute_route(const config::Config& config, std::string_view listener_name, std::string_view client) {
  auto address = parse_client(client);
  if (!address) return Error{fmt::format("client '{}': {}", client, address.error().message)};
  const auto snap = lb::build_snapshot(config, nullptr);
  int li = -1;
  if (listener_name.empty()) {
    if (snap->listeners.size() != 1) {
      return Error{fmt::format("{} listeners: choose one with --listener", snap->listeners.size())};
    }
    li = 0;
  } else {
    li = snap->find_listener(listener_name);
    if (li < 0) return Error{fmt::format("no listener named '{}'", listener_name)};
  }
  const lb::ListenerView& listener = snap->listeners[static_cast<size_t>(li)];
  const lb::PoolView& pool = snap->pools[listener.pool];
  std::vector<uint32_t> order(pool.retries + 1);
  const size_t n = pool.candidates(lb::flow_hash(*address, pool.flow_key), order);
  if (n == 0) return Error{fmt::format("pool '{}' has no usable backend", pool.name)};

  Route r;
  r.listener = listener.name;
  r.pool = pool.name;
  r.client = address->port != 0 ? address->to_string() : address->ip_string();
  r.backend = pool.backends[order[0]].key;
  for (size_t i = 1; i < n; ++i) r.fallbacks.push_back(pool.backends[order[i]].key);
  r.fingerprint = (pool.primary_available > 0 ? pool.primary : pool.backup)->table.fingerprint();
  return r;
}

std::string format_route(const Route& r, bool json) {
  if (json) {
    std::string fallbacks;
    for (const std::string& f : r.fallbacks) {
      if (!fallbacks.empty()) fallbacks += ',';
      fallbacks += json_string(f);
    }
    return fmt::format("{{\"listener\":{},\"pool\":{},\"client\":{},\"backend\":{},\"fallbacks\":[{}],\"fingerprint\":{}}}\n",
                       json_string(r.listener), json_string(r.pool), json_string(r.client), json_string(r.backend),
                       fallbacks, json_string(r.fingerprint));
  }
  std::string fallbacks;
  for (const std::string& f : r.fallbacks) fallbacks += (fallbacks.empty() ? "" : " ") + f;
  return fmt::format("listener    {}\npool        {}\nclient      {}\nbackend     {}\nfallbacks   {}\nfingerprint {}\n",
                     r.listener, r.pool, r.client, r.backend, fallbacks.empty() ? "-" : fallbacks, r.fingerprint);
}

}  // namespace ringlb::app
