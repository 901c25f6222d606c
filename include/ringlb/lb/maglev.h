// MaglevTable: the consistent-hash lookup table of one pool tier (Eisenbud et al., NSDI'16),
// with relative weights. Built on the control plane from the full backend list of the tier;
// immutable afterwards, read concurrently by every worker. Deterministic: the same backends
// (in any input order) and size give the same table and fingerprint on every host.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ringlb::lb {

struct MaglevBackend {
  std::string key;  // stable identity, the canonical address string ("10.0.1.11:443")
  uint32_t weight;  // >= 1, relative share
};

class MaglevTable {
 public:
  MaglevTable() = default;  // empty: size() == 0, lookups not allowed

  // Preconditions: size is prime, size >= backends.size(), keys unique, weights >= 1 (the
  // config layer validates them; a violation aborts with a message).
  // Slot values are indices into `backends` as given (not sorted order).
  // Shares: backend i owns floor or ceil of size * w_i / sum(w) slots (largest remainder, ties
  // to the lower key), so equal weights differ by at most one slot; a backend whose share rounds
  // to zero still owns one slot (taken from the largest), so a walk can always reach it.
  // No backends: an empty table (size() == 0) that still carries a fingerprint.
  // Cost: O(size * log size) steps, two size-long uint32 arrays; control plane only.
  static MaglevTable build(std::span<const MaglevBackend> backends, uint32_t size);

  uint32_t size() const noexcept { return static_cast<uint32_t>(slots_.size()); }
  bool empty() const noexcept { return slots_.empty(); }
  uint32_t slot_of(uint64_t flow_hash) const noexcept { return static_cast<uint32_t>(flow_hash % slots_.size()); }
  // Backend index (into the build input) owning `slot`.
  uint32_t at(uint32_t slot) const noexcept { return slots_[slot]; }
  // Identifies the table's content independent of input order: 16 lowercase hex digits of an
  // XXH3-64 over (layout version, size, sorted keys and weights, each slot's owner by key rank).
  // Equal on every host for the same config; shown by `ringlb route` and /status.
  const std::string& fingerprint() const noexcept { return fingerprint_; }

 private:
  std::vector<uint32_t> slots_;
  std::string fingerprint_;
};

}  // namespace ringlb::lb
