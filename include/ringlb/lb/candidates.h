// Candidate order: which backends a new connection tries, in order. Walks a tier's Maglev table
// forward from the flow's slot and takes each distinct backend that is usable; the first is the
// choice, the rest are the retries. The backup tier is used only when no primary backend is
// available (up and not drained). Pure (predicates injected); any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ringlb/lb/maglev.h"

namespace ringlb::lb {

// One tier of a pool: a Maglev table over some of the pool's backends.
// members[i] is the pool-wide backend index of table entry i: the table was built from a list
// of members.size() backends in this order, and members holds no duplicates.
struct Tier {
  MaglevTable table;
  std::vector<uint32_t> members;
};

// Walks `tier` from the flow's slot and writes up to out.size() distinct pool indices for which
// usable(pool_index) is true, in table order. Stops after one full turn of the table, or once
// `usable_limit` distinct usable backends have been found (pass the number of usable members
// when known, so a pool with few usable backends does not walk the whole table: without it, a
// walk that wants 3 backends where only 1 is usable visits every slot). Returns the count
// written. With every member usable, out[0] is members[table.at(table.slot_of(flow_hash))].
template <class Usable>
size_t walk_tier(const Tier& tier, uint64_t flow_hash, Usable&& usable, std::span<uint32_t> out,
                 size_t usable_limit = SIZE_MAX) noexcept {
  if (tier.table.empty() || out.empty()) return 0;
  const size_t want = out.size() < usable_limit ? out.size() : usable_limit;
  if (want == 0) return 0;
  const uint32_t size = tier.table.size();
  uint32_t slot = tier.table.slot_of(flow_hash);
  size_t found = 0;
  for (uint32_t step = 0; step < size && found < want; ++step) {
    const uint32_t pool_index = tier.members[tier.table.at(slot)];
    bool seen = false;
    for (size_t i = 0; i < found; ++i) seen |= (out[i] == pool_index);
    if (!seen && usable(pool_index)) out[found++] = pool_index;
    if (++slot == size) slot = 0;
  }
  return found;
}

// The full candidate order for one connection; out.size() is retries + 1.
//  available(i): backend i is up and not drained (decides whether the primary tier is in use);
//  usable(i):    available(i) and not at its max_connections (usable implies available).
// Primary tier if any primary backend is available, else the backup tier. A primary tier that
// is available but full gives fewer (possibly zero) candidates: it never spills to the backups.
// Cost: O(members scanned until out.size() usable ones are seen) + the walk, which is bounded by
// that count, so it stops as soon as every usable backend has been found.
template <class Available, class Usable>
size_t candidate_order(const Tier& primary, const Tier& backup, uint64_t flow_hash,
                       Available&& available, Usable&& usable, std::span<uint32_t> out) noexcept {
  const size_t want = out.size();
  if (want == 0) return 0;
  bool primary_available = false;
  size_t usable_count = 0;
  for (uint32_t i : primary.members) {
    if (!available(i)) continue;
    primary_available = true;
    if (usable(i) && ++usable_count == want) break;
  }
  if (!primary_available) {
    for (uint32_t i : backup.members) {
      if (usable(i) && ++usable_count == want) break;
    }
  }
  if (usable_count == 0) return 0;
  const Tier& tier = primary_available ? primary : backup;
  return walk_tier(tier, flow_hash, usable, out, usable_count);
}

}  // namespace ringlb::lb
