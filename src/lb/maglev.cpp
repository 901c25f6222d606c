// MaglevTable::build: weighted Maglev (Eisenbud et al., NSDI'16 section 3.4) over backends
// sorted by key. Each backend gets a quota of slots by largest-remainder apportionment of its
// weight; the classic round-robin fill then runs with a backend taking turns only while under
// quota. With equal weights this is exactly the paper's table. Control plane only.
#include "ringlb/lb/maglev.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <numeric>

namespace ringlb::lb {
namespace {

// Hash seeds: ASCII "ringlbmo" (offset), "ringlbms" (skip) and "ringlbfp" (fingerprint) read
// as big-endian 64-bit integers. Fixed forever: every host must build the same table.
constexpr uint64_t kOffsetSeed = 0x72696e676c626d6fULL;
constexpr uint64_t kSkipSeed = 0x72696e676c626d73ULL;
constexpr uint64_t kFingerprintSeed = 0x72696e676c626670ULL;

// Marks an unfilled slot during build; no backend rank reaches it (ranks < size < 2^32 - 1).
constexpr uint32_t kEmpty = UINT32_MAX;

// Version of the fingerprint's byte layout; bump if the layout (or the fill) ever changes.
constexpr uint32_t kFingerprintVersion = 1;

[[noreturn]] void die(const char* what) noexcept {
  std::fprintf(stderr, "ringlb: MaglevTable::build precondition violated: %s\n", what);
  std::abort();
}

// Trial division: sizes are at most a few million, so this is ~1000 divisions at worst.
bool is_prime(uint32_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

void put_u32(XXH3_state_t* st, uint32_t v) noexcept {
  const uint8_t b[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                        static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
  XXH3_64bits_update(st, b, sizeof b);
}

// Slots' quotas in rank (sorted-key) order; they sum to `size`. quota[r] is floor or ceil of
// size * w[r] / W; the leftover slots go to the largest remainders, ties to the lower rank.
// A backend whose share rounds to zero is then given one slot from the largest quota (lowest
// rank among equals), so every backend is reachable by the walk when the others are down.
std::vector<uint32_t> apportion(const std::vector<uint32_t>& weights, uint32_t size) {
  const size_t n = weights.size();
  // W < 2^32 * n and size * w < 2^64: exact in 64 bits.
  const uint64_t total = std::accumulate(weights.begin(), weights.end(), uint64_t{0});
  std::vector<uint32_t> quota(n);
  std::vector<uint64_t> rem(n);
  uint64_t assigned = 0;
  for (size_t r = 0; r < n; ++r) {
    const uint64_t share = uint64_t{size} * weights[r];
    quota[r] = static_cast<uint32_t>(share / total);
    rem[r] = share % total;
    assigned += quota[r];
  }
  const size_t leftover = size - assigned;  // < n: each floor loses less than one slot
  std::vector<uint32_t> by_rem(n);
  std::iota(by_rem.begin(), by_rem.end(), 0u);
  std::sort(by_rem.begin(), by_rem.end(), [&](uint32_t a, uint32_t b) {
    return rem[a] != rem[b] ? rem[a] > rem[b] : a < b;
  });
  for (size_t i = 0; i < leftover; ++i) ++quota[by_rem[i]];

  for (size_t r = 0; r < n; ++r) {
    if (quota[r] != 0) continue;
    // size >= n guarantees some quota >= 2 while any is 0.
    size_t donor = 0;
    for (size_t d = 1; d < n; ++d) {
      if (quota[d] > quota[donor]) donor = d;
    }
    --quota[donor];
    quota[r] = 1;
  }
  return quota;
}

// Fills `slots` (size M, all kEmpty) with ranks. Per rank r: offset = h1 % M, skip = h2 % (M-1)
// + 1, the permutation is offset, offset+skip, ... mod M. Round-robin in rank order; a rank
// takes a turn (claims the next empty slot of its permutation) only while under its quota.
void fill(std::vector<uint32_t>& slots, const std::vector<uint64_t>& offset,
          const std::vector<uint64_t>& skip, std::vector<uint32_t> left) {
  const uint64_t m = slots.size();
  std::vector<uint64_t> pos = offset;  // next candidate position per rank
  std::vector<uint32_t> active;
  active.reserve(left.size());
  for (uint32_t r = 0; r < left.size(); ++r) {
    if (left[r] > 0) active.push_back(r);
  }
  uint32_t* const table = slots.data();
  while (!active.empty()) {
    size_t keep = 0;
    for (const uint32_t r : active) {
      uint64_t p = pos[r];
      const uint64_t s = skip[r];
      // Terminates: the permutation visits every slot (M prime, 1 <= s < M) and the quotas sum
      // to M, so an empty slot exists while this rank is under quota.
      while (table[p] != kEmpty) {
        p += s;
        if (p >= m) p -= m;
      }
      table[p] = r;
      p += s;
      if (p >= m) p -= m;
      pos[r] = p;
      if (--left[r] > 0) active[keep++] = r;
    }
    active.resize(keep);
  }
}

// XXH3-64 (seed kFingerprintSeed) over, all integers little-endian u32:
//   version, size, n, then per rank: key length, key bytes, weight; then every slot's rank.
std::string compute_fingerprint(uint32_t size, std::span<const MaglevBackend> backends,
                                const std::vector<uint32_t>& order,
                                const std::vector<uint32_t>& ranks) {
  XXH3_state_t* st = XXH3_createState();
  if (st == nullptr) die("out of memory for the fingerprint state");
  XXH3_64bits_reset_withSeed(st, kFingerprintSeed);
  put_u32(st, kFingerprintVersion);
  put_u32(st, size);
  put_u32(st, static_cast<uint32_t>(order.size()));
  for (const uint32_t i : order) {
    put_u32(st, static_cast<uint32_t>(backends[i].key.size()));
    XXH3_64bits_update(st, backends[i].key.data(), backends[i].key.size());
    put_u32(st, backends[i].weight);
  }
  if constexpr (std::endian::native == std::endian::little) {
    XXH3_64bits_update(st, ranks.data(), ranks.size() * sizeof(uint32_t));
  } else {
    for (const uint32_t r : ranks) put_u32(st, r);
  }
  const uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(hex, 16);
}

}  // namespace

MaglevTable MaglevTable::build(std::span<const MaglevBackend> backends, uint32_t size) {
  const size_t n = backends.size();
  if (!is_prime(size)) die("table size is not prime");
  if (size < n) die("table size is smaller than the number of backends");

  // Rank = position in key order; ties are impossible (keys unique, checked below).
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return backends[a].key < backends[b].key; });

  std::vector<uint32_t> weights(n);
  std::vector<uint64_t> offset(n), skip(n);
  for (size_t r = 0; r < n; ++r) {
    const MaglevBackend& b = backends[order[r]];
    if (b.weight == 0) die("backend weight is 0");
    if (r > 0 && backends[order[r - 1]].key == b.key) die("duplicate backend key");
    weights[r] = b.weight;
    offset[r] = XXH64(b.key.data(), b.key.size(), kOffsetSeed) % size;
    // size == 2 gives skip 1 (size - 1 == 1); size >= 2 since it is prime.
    skip[r] = XXH64(b.key.data(), b.key.size(), kSkipSeed) % (size - 1) + 1;
  }

  MaglevTable t;
  if (n == 0) {
    // No backends (an empty backup tier): an empty table that walk_tier skips.
    t.fingerprint_ = compute_fingerprint(size, backends, order, {});
    return t;
  }
  t.slots_.assign(size, kEmpty);
  fill(t.slots_, offset, skip, apportion(weights, size));
  t.fingerprint_ = compute_fingerprint(size, backends, order, t.slots_);
  for (uint32_t& s : t.slots_) s = order[s];  // rank -> index into the caller's span
  return t;
}

}  // namespace ringlb::lb
