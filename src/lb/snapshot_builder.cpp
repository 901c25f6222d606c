// Config -> Snapshot (see snapshot_builder.h).
#include "ringlb/lb/snapshot_builder.h"

#include <algorithm>

namespace ringlb::lb {
namespace {

ProxyHeader to_proxy_header(config::ProxyProtocol p) noexcept {
  switch (p) {
    case config::ProxyProtocol::off: return ProxyHeader::none;
    case config::ProxyProtocol::v1: return ProxyHeader::v1;
    case config::ProxyProtocol::v2: return ProxyHeader::v2;
  }
  return ProxyHeader::none;
}

std::shared_ptr<const Tier> build_tier(const PoolView& pool, bool backup, uint32_t table_size) {
  auto tier = std::make_shared<Tier>();
  std::vector<MaglevBackend> inputs;
  for (uint32_t i = 0; i < pool.backends.size(); ++i) {
    const BackendView& b = pool.backends[i];
    if (b.backup != backup) continue;
    tier->members.push_back(i);
    inputs.push_back(MaglevBackend{b.key, b.weight});
  }
  if (!inputs.empty()) tier->table = MaglevTable::build(inputs, table_size);
  return tier;
}

}  // namespace

std::shared_ptr<Snapshot> build_snapshot(const config::Config& config, const Snapshot* previous) {
  auto snap = std::make_shared<Snapshot>();
  snap->max_connections = config.global.max_connections;

  for (const config::Pool& pc : config.pools) {
    PoolView pool;
    pool.name = pc.name;
    pool.flow_key = pc.hash == config::HashMode::client_ip ? FlowKey::client_ip : FlowKey::client_ip_port;
    pool.connect_timeout = pc.connect_timeout;
    pool.idle_timeout = pc.idle_timeout;
    pool.retries = pc.retries;
    pool.health = HealthSettings{pc.health.interval, pc.health.timeout, pc.health.rise, pc.health.fall};

    const PoolView* old_pool = nullptr;
    if (previous) {
      const int i = previous->find_pool(pc.name);
      if (i >= 0) old_pool = &previous->pools[static_cast<size_t>(i)];
    }
    for (const config::Backend& bc : pc.backends) {
      BackendView b;
      b.address = bc.address;
      b.key = bc.address.to_string();
      b.weight = bc.weight;
      b.backup = bc.backup;
      b.max_connections = bc.max_connections;
      const int old = old_pool ? old_pool->find_backend(bc.address) : -1;
      if (old >= 0) {
        const BackendView& ob = old_pool->backends[static_cast<size_t>(old)];
        b.up = ob.up;
        b.drained = ob.drained;
        b.disabled = ob.disabled;
        b.counters = ob.counters;
      } else {
        b.counters = std::make_shared<BackendCounters>();
      }
      pool.backends.push_back(std::move(b));
    }
    // Sorted by address: the tiers' member order, and thus the tables, do not depend on the
    // order backends were written in the file.
    std::sort(pool.backends.begin(), pool.backends.end(),
              [](const BackendView& a, const BackendView& b) { return a.address < b.address; });
    pool.primary = build_tier(pool, /*backup=*/false, pc.table_size);
    pool.backup = build_tier(pool, /*backup=*/true, pc.table_size);
    refresh_availability(pool);
    snap->pools.push_back(std::move(pool));
  }

  for (const config::Listener& lc : config.listeners) {
    ListenerView l;
    l.name = lc.name;
    l.bind = lc.bind;
    l.pool = static_cast<uint32_t>(snap->find_pool(lc.pool));  // validated to exist
    l.proxy_header = to_proxy_header(lc.proxy_protocol);
    l.backlog = lc.backlog;
    l.sockmap = lc.datapath != config::Datapath::splice;
    l.sockmap_promote_after = lc.sockmap_promote_after;
    l.sockmap_max_lag = static_cast<uint32_t>(lc.sockmap_max_lag);  // <= 1 GiB (validated)
    snap->listeners.push_back(std::move(l));
  }
  return snap;
}

}  // namespace ringlb::lb
