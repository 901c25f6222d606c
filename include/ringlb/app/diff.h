// `ringlb diff OLD NEW`: what a config change does before it is applied — per pool the share of
// clients that move to another backend and each backend's share of the hash space before and
// after, plus listener and global changes and whether SIGHUP can apply it. Tables come from the
// snapshot builder the workers use. Pure value types and functions; control plane (main thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringlb/config/config.h"

namespace ringlb::app {

enum class DiffStatus { unchanged, added, removed, changed };

// A key whose value differs, both rendered as the config spells them ("" when absent).
struct SettingChange {
  std::string key;  // "retries", "health.interval", "backend 10.0.1.11:443 max_connections"
  std::string old_value;
  std::string new_value;
};

struct BackendDiff {
  std::string address;                 // the Maglev key, "10.0.1.11:443"
  std::optional<uint32_t> weight_old;  // nullopt: not in that config
  std::optional<uint32_t> weight_new;
  bool backup_old = false;             // which tier the share is of (meaningless when absent)
  bool backup_new = false;
  double share_old = 0;                // percent of its tier's table slots; 0 when absent
  double share_new = 0;
  DiffStatus change = DiffStatus::unchanged;  // added, removed or unchanged (weight may differ)
};

// One tier (primary or backup) of a pool on each side; absent sides are nullopt.
struct TierDiff {
  std::optional<uint32_t> table_size_old;
  std::optional<uint32_t> table_size_new;
  std::optional<std::string> fingerprint_old;
  std::optional<std::string> fingerprint_new;
  // Share (0..1) of flow hashes whose backend differs with every backend healthy; nullopt when
  // the pool is only on one side. A tier present on one side only moves everything (1.0).
  std::optional<double> moved;
};

struct PoolDiff {
  std::string name;
  DiffStatus status = DiffStatus::unchanged;
  TierDiff primary;
  std::optional<TierDiff> backup;  // nullopt when neither side has backup backends
  std::vector<SettingChange> settings;  // pool keys other than backends' weight and backup
  std::vector<BackendDiff> backends;    // union of both sides, sorted by address
};

struct ListenerDiff {
  std::string name;
  DiffStatus status = DiffStatus::unchanged;
  std::string bind_old, bind_new;  // "" when absent
  std::string pool_old, pool_new;
  std::vector<SettingChange> settings;  // datapath, backlog, proxy_protocol
  // Share of this listener's clients that reach another backend (primary tiers of its old and
  // new pool, which may differ); nullopt when the listener is only on one side.
  std::optional<double> moved;
};

struct Diff {
  std::vector<PoolDiff> pools;          // sorted by name
  std::vector<ListenerDiff> listeners;  // sorted by name
  std::vector<SettingChange> global;    // "workers", "max_connections", ...
  std::vector<std::string> restart_reasons;  // empty: SIGHUP applies NEW (see reload_rules.h)

  // Nothing moves and nothing differs: the exit status 0 of `ringlb diff`.
  bool same() const noexcept;
};

Diff compute_diff(const config::Config& old_config, const config::Config& new_config);
// Text: one block per pool, then listeners, global, reload verdict. JSON: one object
// {"same","pools":[...],"listeners":[...],"global":[...],"restart_reasons":[...]}, one line.
std::string format_diff(const Diff& diff, bool json);

std::string_view to_string(DiffStatus status) noexcept;

}  // namespace ringlb::app
