// `ringlb diff`: comparing two configs (see diff.h). Formatting is in diff_format.cpp.
#include "ringlb/app/diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <span>

#include "ringlb/app/reload_rules.h"
#include "ringlb/lb/candidates.h"
#include "ringlb/lb/snapshot_builder.h"

namespace ringlb::app {
namespace {

// Backend addresses of both configs as small integers, so owners compare across snapshots.
class KeyIds {
 public:
  uint32_t id(const std::string& key) {
    auto [it, inserted] = ids_.try_emplace(key, static_cast<uint32_t>(ids_.size()));
    return it->second;
  }
  size_t size() const noexcept { return ids_.size(); }

 private:
  std::map<std::string, uint32_t> ids_;
};

// For every slot of `tier`, the key id of the backend a flow hashing to that slot gets with
// every backend healthy. It asks the workers' own walk (walk_tier, all usable) rather than
// reading the table, so it is the data path's answer by construction.
std::vector<uint32_t> slot_owners(const lb::PoolView& pool, const lb::Tier& tier, KeyIds& ids) {
  std::vector<uint32_t> id_of(pool.backends.size());
  for (size_t i = 0; i < pool.backends.size(); ++i) id_of[i] = ids.id(pool.backends[i].key);
  std::vector<uint32_t> owners(tier.table.size());
  uint32_t first[1];
  for (uint32_t slot = 0; slot < owners.size(); ++slot) {
    // slot_of(h) is h % size, so h = slot lands on `slot`.
    if (lb::walk_tier(tier, slot, [](uint32_t) noexcept { return true; }, std::span(first)) != 1) {
      std::fprintf(stderr, "ringlb: diff: no backend for slot %u of pool %s\n", slot, pool.name.c_str());
      std::abort();  // a non-empty tier with every member usable always yields one
    }
    owners[slot] = id_of[first[0]];
  }
  return owners;
}

// The share of flow hashes h whose owner differs between table a (slot h % m) and table b
// (slot h % n), for h uniform over 64 bits. Exact by counting, not sampling: over one period
// L = lcm(m, n), (h % m, h % n) takes every pair (i, j) with i = j (mod g), g = gcd(m, n),
// exactly once (Chinese remainder theorem). So
//   P(same owner) = g / (m n) * sum over r < g, backend k of cnt_a(r, k) * cnt_b(r, k),
// cnt_x(r, k) = slots s = r (mod g) of x owned by k. Equal sizes (g = m) reduce to comparing
// slot by slot; two different sizes (validated sizes are prime, so g = 1) to
// 1 - sum_k share_a(k) * share_b(k): a new table_size reshuffles almost every client.
// 2^64 is not a whole number of periods: the error is below L / 2^64 < 10^12 / 1.8e19.
// Pools hashing different bytes (client_ip vs client_ip_port) give unrelated slots: treated
// as independent, which is the g = 1 case. Cost O(m + n + keys).
double moved_fraction(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b, bool same_hash,
                      size_t key_count) {
  const uint64_t m = a.size();
  const uint64_t n = b.size();
  if (m == 0 && n == 0) return 0.0;
  if (m == 0 || n == 0) return 1.0;  // a tier on one side only: every flow it serves moves
  const uint64_t g = same_hash ? std::gcd(m, n) : 1;
  std::vector<uint64_t> count(key_count, 0);
  std::vector<uint32_t> touched;
  uint64_t stay = 0;  // sum over r of the dot products; at most m * n / g <= 10^12
  for (uint64_t r = 0; r < g; ++r) {
    for (uint64_t i = r; i < m; i += g) {
      if (count[a[i]]++ == 0) touched.push_back(a[i]);
    }
    for (uint64_t j = r; j < n; j += g) stay += count[b[j]];
    for (uint32_t k : touched) count[k] = 0;
    touched.clear();
  }
  const uint64_t total = m * n;  // <= 10^12: exact in uint64 and in double
  return static_cast<double>(total - g * stay) / static_cast<double>(total);
}

// Owners and identity of one side's tier; empty owners when the tier has no members.
struct TierView {
  const lb::Tier* tier = nullptr;
  std::vector<uint32_t> owners;
};

TierView view_tier(const lb::PoolView& pool, const lb::Tier& tier, KeyIds& ids) {
  TierView v;
  if (tier.table.empty()) return v;
  v.tier = &tier;
  v.owners = slot_owners(pool, tier, ids);
  return v;
}

TierDiff compare_tiers(const TierView* old_tier, const TierView* new_tier, bool same_hash, size_t keys) {
  TierDiff d;
  static const TierView kNone;
  const TierView& o = old_tier ? *old_tier : kNone;
  const TierView& n = new_tier ? *new_tier : kNone;
  if (o.tier) {
    d.table_size_old = o.tier->table.size();
    d.fingerprint_old = o.tier->table.fingerprint();
  }
  if (n.tier) {
    d.table_size_new = n.tier->table.size();
    d.fingerprint_new = n.tier->table.fingerprint();
  }
  if (old_tier && new_tier) d.moved = moved_fraction(o.owners, n.owners, same_hash, keys);
  return d;
}

// Per pool backend index: percent of its tier's table slots it owns (primaries of the primary
// table, backups of the backup table).
std::vector<double> shares(const lb::PoolView& pool) {
  std::vector<double> out(pool.backends.size(), 0.0);
  for (const lb::Tier* tier : {pool.primary.get(), pool.backup.get()}) {
    if (tier == nullptr || tier->table.empty()) continue;
    std::vector<uint64_t> slots(tier->members.size(), 0);
    for (uint32_t s = 0; s < tier->table.size(); ++s) ++slots[tier->table.at(s)];
    for (size_t i = 0; i < slots.size(); ++i) {
      out[tier->members[i]] = 100.0 * static_cast<double>(slots[i]) / tier->table.size();
    }
  }
  return out;
}

// Merges two lists sorted by `less`, calling f(old or nullptr, new or nullptr) per element.
template <class T, class Less, class F>
void merge_sorted(const std::vector<T>& a, const std::vector<T>& b, Less less, F f) {
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && less(a[i], b[j]))) {
      f(&a[i++], nullptr);
    } else if (i == a.size() || less(b[j], a[i])) {
      f(nullptr, &b[j++]);
    } else {
      f(&a[i++], &b[j++]);
    }
  }
}

void add_if(std::vector<SettingChange>& out, std::string key, const std::string& a, const std::string& b) {
  if (a != b) out.push_back(SettingChange{std::move(key), a, b});
}

std::vector<SettingChange> pool_settings(const config::Pool& a, const config::Pool& b) {
  std::vector<SettingChange> out;
  add_if(out, "hash", std::string(config::to_string(a.hash)), std::string(config::to_string(b.hash)));
  add_if(out, "connect_timeout", format_duration(a.connect_timeout), format_duration(b.connect_timeout));
  add_if(out, "idle_timeout", format_duration(a.idle_timeout), format_duration(b.idle_timeout));
  add_if(out, "retries", std::to_string(a.retries), std::to_string(b.retries));
  add_if(out, "health.interval", format_duration(a.health.interval), format_duration(b.health.interval));
  add_if(out, "health.timeout", format_duration(a.health.timeout), format_duration(b.health.timeout));
  add_if(out, "health.rise", std::to_string(a.health.rise), std::to_string(b.health.rise));
  add_if(out, "health.fall", std::to_string(a.health.fall), std::to_string(b.health.fall));
  for (const config::Backend& x : a.backends) {
    for (const config::Backend& y : b.backends) {
      if (x.address != y.address) continue;
      add_if(out, fmt::format("backend {} max_connections", x.address.to_string()), std::to_string(x.max_connections),
             std::to_string(y.max_connections));
    }
  }
  return out;
}

// Everything about one pool name; either side may be null (pool added or removed).
struct PoolSide {
  const config::Pool* config = nullptr;
  const lb::PoolView* view = nullptr;
  TierView primary;
  TierView backup;
};

PoolDiff compare_pool(const std::string& name, const PoolSide& o, const PoolSide& n, size_t keys) {
  PoolDiff d;
  d.name = name;
  const bool both = o.view && n.view;
  const bool same_hash = both && o.view->flow_key == n.view->flow_key;
  d.primary = compare_tiers(o.view ? &o.primary : nullptr, n.view ? &n.primary : nullptr, same_hash, keys);
  const bool any_backup = (o.view && o.backup.tier) || (n.view && n.backup.tier);
  if (any_backup) {
    d.backup = compare_tiers(o.view ? &o.backup : nullptr, n.view ? &n.backup : nullptr, same_hash, keys);
  }
  if (both) d.settings = pool_settings(*o.config, *n.config);

  static const std::vector<lb::BackendView> kNoBackends;
  const auto& ob = o.view ? o.view->backends : kNoBackends;
  const auto& nb = n.view ? n.view->backends : kNoBackends;
  const std::vector<double> os = o.view ? shares(*o.view) : std::vector<double>{};
  const std::vector<double> ns = n.view ? shares(*n.view) : std::vector<double>{};
  bool backends_differ = false;
  merge_sorted(ob, nb, [](const lb::BackendView& x, const lb::BackendView& y) { return x.address < y.address; },
               [&](const lb::BackendView* x, const lb::BackendView* y) {
                 BackendDiff b;
                 b.address = (x ? x : y)->key;
                 if (x) {
                   b.weight_old = x->weight;
                   b.backup_old = x->backup;
                   b.share_old = os[static_cast<size_t>(x - ob.data())];
                 }
                 if (y) {
                   b.weight_new = y->weight;
                   b.backup_new = y->backup;
                   b.share_new = ns[static_cast<size_t>(y - nb.data())];
                 }
                 b.change = !x ? DiffStatus::added : !y ? DiffStatus::removed : DiffStatus::unchanged;
                 backends_differ |= !x || !y || x->weight != y->weight || x->backup != y->backup;
                 d.backends.push_back(std::move(b));
               });

  if (!o.view) {
    d.status = DiffStatus::added;
  } else if (!n.view) {
    d.status = DiffStatus::removed;
  } else {
    const bool tables_differ = d.primary.fingerprint_old != d.primary.fingerprint_new ||
                               (d.backup && d.backup->fingerprint_old != d.backup->fingerprint_new) ||
                               d.primary.table_size_old != d.primary.table_size_new ||
                               *d.primary.moved > 0 || (d.backup && *d.backup->moved > 0);
    d.status = (backends_differ || tables_differ || !d.settings.empty()) ? DiffStatus::changed
                                                                         : DiffStatus::unchanged;
  }
  return d;
}

ListenerDiff compare_listener(const config::Listener* a, const config::Listener* b,
                              const std::map<std::string, PoolSide>& old_pools,
                              const std::map<std::string, PoolSide>& new_pools, size_t keys) {
  ListenerDiff d;
  d.name = (a ? a : b)->name;
  if (a) {
    d.bind_old = a->bind.to_string();
    d.pool_old = a->pool;
  }
  if (b) {
    d.bind_new = b->bind.to_string();
    d.pool_new = b->pool;
  }
  if (!a || !b) {
    d.status = a ? DiffStatus::removed : DiffStatus::added;
    return d;
  }
  add_if(d.settings, "datapath", std::string(config::to_string(a->datapath)), std::string(config::to_string(b->datapath)));
  add_if(d.settings, "backlog", std::to_string(a->backlog), std::to_string(b->backlog));
  add_if(d.settings, "proxy_protocol", std::string(config::to_string(a->proxy_protocol)),
         std::string(config::to_string(b->proxy_protocol)));
  const PoolSide& op = old_pools.at(a->pool);  // validated: a listener names an existing pool
  const PoolSide& np = new_pools.at(b->pool);
  d.moved = moved_fraction(op.primary.owners, np.primary.owners, op.view->flow_key == np.view->flow_key, keys);
  d.status = (d.bind_old != d.bind_new || d.pool_old != d.pool_new || !d.settings.empty()) ? DiffStatus::changed
                                                                                           : DiffStatus::unchanged;
  return d;
}

std::map<std::string, PoolSide> pool_sides(const config::Config& c, const lb::Snapshot& snap, KeyIds& ids) {
  std::map<std::string, PoolSide> out;
  for (const lb::PoolView& p : snap.pools) {
    PoolSide& s = out[p.name];
    s.config = c.find_pool(p.name);
    s.view = &p;
    s.primary = view_tier(p, *p.primary, ids);
    s.backup = view_tier(p, *p.backup, ids);
  }
  return out;
}

std::vector<SettingChange> global_settings(const config::Global& a, const config::Global& b) {
  std::vector<SettingChange> out;
  add_if(out, "workers", std::to_string(a.workers), std::to_string(b.workers));
  add_if(out, "max_connections", std::to_string(a.max_connections), std::to_string(b.max_connections));
  add_if(out, "admin", a.admin, b.admin);
  add_if(out, "user", a.user, b.user);
  add_if(out, "drain_timeout", format_duration(a.drain_timeout), format_duration(b.drain_timeout));
  add_if(out, "log_format", std::string(config::to_string(a.log_format)), std::string(config::to_string(b.log_format)));
  add_if(out, "access_log", a.access_log, b.access_log);
  add_if(out, "access_log_format", std::string(config::to_string(a.access_log_format)),
         std::string(config::to_string(b.access_log_format)));
  return out;
}

}  // namespace

bool Diff::same() const noexcept {
  auto unchanged = [](const auto& x) { return x.status == DiffStatus::unchanged; };
  return std::all_of(pools.begin(), pools.end(), unchanged) &&
         std::all_of(listeners.begin(), listeners.end(), unchanged) && global.empty() && restart_reasons.empty();
}

std::string_view to_string(DiffStatus status) noexcept {
  switch (status) {
    case DiffStatus::unchanged: return "unchanged";
    case DiffStatus::added: return "added";
    case DiffStatus::removed: return "removed";
    case DiffStatus::changed: return "changed";
  }
  return "unchanged";
}

Diff compute_diff(const config::Config& old_config, const config::Config& new_config) {
  // The snapshot builder is the one the workers route by: same sorting, tiers and tables.
  const auto old_snap = lb::build_snapshot(old_config, nullptr);
  const auto new_snap = lb::build_snapshot(new_config, nullptr);
  KeyIds ids;
  const auto old_pools = pool_sides(old_config, *old_snap, ids);
  const auto new_pools = pool_sides(new_config, *new_snap, ids);
  const size_t keys = ids.size();

  Diff d;
  static const PoolSide kAbsent;
  std::vector<std::string> names;
  for (const auto& [name, side] : old_pools) names.push_back(name);
  for (const auto& [name, side] : new_pools) names.push_back(name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    const auto o = old_pools.find(name);
    const auto n = new_pools.find(name);
    d.pools.push_back(compare_pool(name, o != old_pools.end() ? o->second : kAbsent,
                                   n != new_pools.end() ? n->second : kAbsent, keys));
  }
  merge_sorted(old_config.listeners, new_config.listeners,
               [](const config::Listener& x, const config::Listener& y) { return x.name < y.name; },
               [&](const config::Listener* a, const config::Listener* b) {
                 d.listeners.push_back(compare_listener(a, b, old_pools, new_pools, keys));
               });
  d.global = global_settings(old_config.global, new_config.global);
  d.restart_reasons = restart_reasons(old_config, new_config);
  return d;
}

}  // namespace ringlb::app
