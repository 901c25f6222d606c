// Microbenchmarks for the load-balancing core: Maglev table build (the paper reports 1.8 ms for
// 65,537 slots) and the per-connection lookup (flow hash + slot + table read, and the full
// candidate order). Run from a release build: build-*/bench/micro/maglev_bench.
#include <benchmark/benchmark.h>

#include <arpa/inet.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "ringlb/lb/candidates.h"
#include "ringlb/lb/flow_hash.h"
#include "ringlb/lb/maglev.h"

namespace {

using ringlb::Address;
using namespace ringlb::lb;

std::vector<MaglevBackend> make_backends(size_t n) {
  std::vector<MaglevBackend> out;
  for (size_t i = 0; i < n; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "10.%zu.%zu.%zu:443", i / 65536, i / 256 % 256, i % 256);
    out.push_back({key, static_cast<uint32_t>(100 + i % 3)});  // mildly uneven weights
  }
  return out;
}

// 4096 random IPv4 clients: enough to defeat trivial caching of one slot, small enough to stay
// in L1 (the table read is the part whose cache behaviour matters).
std::vector<Address> make_clients() {
  std::mt19937_64 rng(1);
  std::vector<Address> out(4096);
  for (Address& a : out) {
    a.family = AF_INET;
    const uint32_t ip = static_cast<uint32_t>(rng());
    std::memcpy(a.bytes.data(), &ip, 4);
    a.port = static_cast<uint16_t>(rng());
  }
  return out;
}

void BM_MaglevBuild(benchmark::State& state) {
  const auto backends = make_backends(static_cast<size_t>(state.range(0)));
  const auto size = static_cast<uint32_t>(state.range(1));
  for (auto _ : state) {
    MaglevTable t = MaglevTable::build(backends, size);
    benchmark::DoNotOptimize(t.at(0));
  }
  state.SetItemsProcessed(state.iterations() * size);  // slots per second
}
BENCHMARK(BM_MaglevBuild)
    ->ArgNames({"backends", "slots"})
    ->ArgsProduct({{16, 100, 1000}, {65537, 655373}})
    ->Unit(benchmark::kMillisecond);

void BM_FlowHash(benchmark::State& state) {
  const auto clients = make_clients();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(flow_hash(clients[i++ & 4095], FlowKey::client_ip));
  }
}
BENCHMARK(BM_FlowHash);

// flow_hash + slot_of + at: what a worker does for the first candidate.
void BM_Lookup(benchmark::State& state) {
  const auto backends = make_backends(static_cast<size_t>(state.range(0)));
  const MaglevTable t = MaglevTable::build(backends, static_cast<uint32_t>(state.range(1)));
  const auto clients = make_clients();
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t h = flow_hash(clients[i++ & 4095], FlowKey::client_ip_port);
    benchmark::DoNotOptimize(t.at(t.slot_of(h)));
  }
}
BENCHMARK(BM_Lookup)->ArgNames({"backends", "slots"})->Args({16, 65537})->Args({100, 65537})
    ->Args({1000, 655373});

// The full candidate order (retries = 2, every backend usable): flow hash + walk to 3 distinct.
void BM_CandidateOrder(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Tier primary;
  primary.table = MaglevTable::build(make_backends(n), 65537);
  for (uint32_t i = 0; i < n; ++i) primary.members.push_back(i);
  const Tier backup;
  const auto clients = make_clients();
  const auto yes = [](uint32_t) noexcept { return true; };
  std::array<uint32_t, 3> out{};
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t h = flow_hash(clients[i++ & 4095], FlowKey::client_ip_port);
    benchmark::DoNotOptimize(candidate_order(primary, backup, h, yes, yes, std::span<uint32_t>(out)));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_CandidateOrder)->ArgName("backends")->Arg(16)->Arg(100)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
