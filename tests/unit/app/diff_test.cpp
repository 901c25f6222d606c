// `ringlb diff`: the share of clients that move and each backend's share before and after, for
// the changes operators make (remove, add, re-weight, backup tier, new table_size, pools and
// listeners added or removed), checked against the workers' own candidate path on sampled
// flow hashes; and the reload verdict (restart_reasons).
#include "ringlb/app/diff.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ringlb/app/reload_rules.h"
#include "ringlb/config/load.h"
#include "ringlb/lb/snapshot_builder.h"

namespace ringlb::app {
namespace {

config::Config load(const std::string& text) {
  auto c = config::load_string(text, "test.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string());
  return std::move(c).value();
}

struct B {
  std::string address;
  int weight = 100;
  bool backup = false;
};

// One listener "public" on pool "p" (plus any `extra` TOML after it).
std::string config_text(const std::vector<B>& backends, const std::string& pool_keys = "",
                        const std::string& extra = "", const std::string& bind = "0.0.0.0:443") {
  std::string s = "[global]\nadmin = \"\"\n[listeners.public]\nbind = \"" + bind + "\"\npool = \"p\"\n[pools.p]\n" + pool_keys;
  for (const B& b : backends) {
    s += "[[pools.p.backends]]\naddress = \"" + b.address + "\"\nweight = " + std::to_string(b.weight) +
         "\nbackup = " + (b.backup ? "true" : "false") + "\n";
  }
  return s + extra;
}

std::vector<B> ten() {
  std::vector<B> out;
  for (int i = 1; i <= 10; ++i) out.push_back(B{"10.0.1." + std::to_string(i) + ":443"});
  return out;
}

const BackendDiff& backend(const PoolDiff& p, const std::string& address) {
  for (const BackendDiff& b : p.backends) {
    if (b.address == address) return b;
  }
  ADD_FAILURE() << "no backend " << address;
  static const BackendDiff kNone;
  return kNone;
}

double sum_old(const PoolDiff& p, bool backup) {
  double s = 0;
  for (const BackendDiff& b : p.backends) s += (b.weight_old && b.backup_old == backup) ? b.share_old : 0;
  return s;
}
double sum_new(const PoolDiff& p, bool backup) {
  double s = 0;
  for (const BackendDiff& b : p.backends) s += (b.weight_new && b.backup_new == backup) ? b.share_new : 0;
  return s;
}

// The fraction of random 64-bit flow hashes for which PoolView::candidates — what a worker runs
// at accept, every backend healthy — picks a different backend in `b` than in `a`. Backup tier:
// every primary marked down, so candidates() falls back to it as it would in production.
double sampled_moved(const config::Config& a, const config::Config& b, bool backup_tier, int samples = 200000) {
  auto sa = lb::build_snapshot(a, nullptr);
  auto sb = lb::build_snapshot(b, nullptr);
  for (auto* snap : {sa.get(), sb.get()}) {
    for (lb::BackendView& v : snap->pools[0].backends) v.up = !backup_tier || v.backup;
    lb::refresh_availability(snap->pools[0]);
  }
  std::mt19937_64 rng(12345);
  int moved = 0;
  uint32_t x[1];
  uint32_t y[1];
  for (int i = 0; i < samples; ++i) {
    const uint64_t h = rng();
    EXPECT_EQ(sa->pools[0].candidates(h, x), 1u);
    EXPECT_EQ(sb->pools[0].candidates(h, y), 1u);
    moved += sa->pools[0].backends[x[0]].key != sb->pools[0].backends[y[0]].key;
  }
  return static_cast<double>(moved) / samples;
}

// Sampling error at 200,000 samples: sd = sqrt(p (1 - p) / n) <= 0.0012; 5 sd.
constexpr double kSampleTolerance = 0.006;

TEST(Diff, IdenticalConfigsMoveNothing) {
  const config::Config c = load(config_text(ten()));
  const Diff d = compute_diff(c, c);
  ASSERT_EQ(d.pools.size(), 1u);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::unchanged);
  ASSERT_TRUE(p.primary.moved);
  EXPECT_EQ(*p.primary.moved, 0.0);
  EXPECT_EQ(p.primary.fingerprint_old, p.primary.fingerprint_new);
  EXPECT_FALSE(p.backup);
  ASSERT_EQ(d.listeners.size(), 1u);
  EXPECT_EQ(d.listeners[0].status, DiffStatus::unchanged);
  EXPECT_EQ(d.listeners[0].moved, 0.0);
  EXPECT_TRUE(d.restart_reasons.empty());
  EXPECT_TRUE(d.same());
  EXPECT_NE(format_diff(d, false).find("same: the configs route identically"), std::string::npos);
  EXPECT_NE(format_diff(d, true).find("\"same\":true"), std::string::npos);
}

TEST(Diff, BackendOrderInTheFileIsNotAChange) {
  std::vector<B> reversed = ten();
  std::reverse(reversed.begin(), reversed.end());
  const Diff d = compute_diff(load(config_text(ten())), load(config_text(reversed)));
  EXPECT_TRUE(d.same()) << format_diff(d, false);
}

TEST(Diff, RemovingOneOfTenMovesItsClientsAndUnderOnePercentOfTheOthers) {
  std::vector<B> nine = ten();
  nine.pop_back();  // 10.0.1.10
  const config::Config a = load(config_text(ten()));
  const config::Config b = load(config_text(nine));
  const Diff d = compute_diff(a, b);
  ASSERT_EQ(d.pools.size(), 1u);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  ASSERT_TRUE(p.primary.moved);
  // Its own 10% must move; Maglev at table_size >= 100 x backends moves < 1% of the rest.
  EXPECT_GE(*p.primary.moved, 0.0999);
  EXPECT_LT(*p.primary.moved, 0.1 + 0.01 * 0.9);
  EXPECT_NEAR(*p.primary.moved, sampled_moved(a, b, false), kSampleTolerance);

  const BackendDiff& gone = backend(p, "10.0.1.10:443");
  EXPECT_EQ(gone.change, DiffStatus::removed);
  EXPECT_EQ(gone.weight_old, 100u);
  EXPECT_FALSE(gone.weight_new);
  EXPECT_NEAR(gone.share_old, 10.0, 0.01);
  EXPECT_EQ(gone.share_new, 0.0);
  EXPECT_EQ(backend(p, "10.0.1.3:443").change, DiffStatus::unchanged);
  EXPECT_NEAR(backend(p, "10.0.1.3:443").share_new, 100.0 / 9, 0.01);
  EXPECT_NEAR(sum_old(p, false), 100.0, 1e-9);
  EXPECT_NEAR(sum_new(p, false), 100.0, 1e-9);
  ASSERT_EQ(p.backends.size(), 10u);
  EXPECT_EQ(p.backends[1].address, "10.0.1.2:443") << "sorted by address, not as text";
  EXPECT_EQ(p.backends.back().address, "10.0.1.10:443");
  EXPECT_EQ(d.listeners[0].moved, p.primary.moved);
  EXPECT_TRUE(d.restart_reasons.empty()) << "a backend change is a reload";
  EXPECT_FALSE(d.same());
}

TEST(Diff, AddingABackend) {
  std::vector<B> eleven = ten();
  eleven.push_back(B{"10.0.1.11:443"});
  const config::Config a = load(config_text(ten()));
  const config::Config b = load(config_text(eleven));
  const Diff d = compute_diff(a, b);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  EXPECT_GE(*p.primary.moved, 1.0 / 11 - 0.001);
  EXPECT_LT(*p.primary.moved, 1.0 / 11 + 0.01);
  EXPECT_NEAR(*p.primary.moved, sampled_moved(a, b, false), kSampleTolerance);
  const BackendDiff& added = backend(p, "10.0.1.11:443");
  EXPECT_EQ(added.change, DiffStatus::added);
  EXPECT_FALSE(added.weight_old);
  EXPECT_EQ(added.share_old, 0.0);
  EXPECT_NEAR(added.share_new, 100.0 / 11, 0.01);
  EXPECT_NEAR(sum_new(p, false), 100.0, 1e-9);
}

TEST(Diff, ChangingAWeight) {
  std::vector<B> heavier = ten();
  heavier[0].weight = 200;  // 10.0.1.1: 2 of 11 shares
  const config::Config a = load(config_text(ten()));
  const config::Config b = load(config_text(heavier));
  const Diff d = compute_diff(a, b);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  const BackendDiff& w = backend(p, "10.0.1.1:443");
  EXPECT_EQ(w.change, DiffStatus::unchanged);
  EXPECT_EQ(w.weight_old, 100u);
  EXPECT_EQ(w.weight_new, 200u);
  EXPECT_NEAR(w.share_new, 200.0 / 11, 0.01);
  // At least the share it gains must move to it.
  EXPECT_GE(*p.primary.moved, (200.0 / 11 - 10.0) / 100 - 0.001);
  EXPECT_NEAR(*p.primary.moved, sampled_moved(a, b, false), kSampleTolerance);
  EXPECT_NE(format_diff(d, false).find("100 -> 200"), std::string::npos) << format_diff(d, false);
}

TEST(Diff, PoolAddedAndRemoved) {
  const std::string extra = "[pools.q]\ntable_size = 1009\n[[pools.q.backends]]\naddress = \"10.0.9.1:443\"\n";
  const config::Config with_q = load(config_text(ten(), "", extra));
  const config::Config without_q = load(config_text(ten()));
  const Diff added = compute_diff(without_q, with_q);
  ASSERT_EQ(added.pools.size(), 2u);
  EXPECT_EQ(added.pools[0].name, "p");
  EXPECT_EQ(added.pools[0].status, DiffStatus::unchanged);
  const PoolDiff& q = added.pools[1];
  EXPECT_EQ(q.name, "q");
  EXPECT_EQ(q.status, DiffStatus::added);
  EXPECT_FALSE(q.primary.moved);
  EXPECT_FALSE(q.primary.table_size_old);
  EXPECT_EQ(q.primary.table_size_new, 1009u);
  ASSERT_EQ(q.backends.size(), 1u);
  EXPECT_EQ(q.backends[0].change, DiffStatus::added);
  EXPECT_EQ(q.backends[0].share_new, 100.0);
  EXPECT_FALSE(added.same());
  EXPECT_TRUE(added.restart_reasons.empty()) << "an unused pool reloads";

  const Diff removed = compute_diff(with_q, without_q);
  EXPECT_EQ(removed.pools[1].status, DiffStatus::removed);
  EXPECT_EQ(removed.pools[1].backends[0].change, DiffStatus::removed);
  EXPECT_EQ(removed.pools[1].backends[0].share_new, 0.0);
  EXPECT_FALSE(removed.same());
  EXPECT_NE(format_diff(removed, true).find("\"name\":\"q\",\"status\":\"removed\",\"moved\":null"), std::string::npos)
      << format_diff(removed, true);
}

TEST(Diff, BackupTierMovesSeparately) {
  std::vector<B> a = {{"10.0.1.1:443"}, {"10.0.1.2:443"}, {"10.0.2.1:443", 100, true}, {"10.0.2.2:443", 100, true}};
  std::vector<B> b = a;
  b[3].address = "10.0.2.3:443";  // one backup replaced
  const config::Config ca = load(config_text(a));
  const config::Config cb = load(config_text(b));
  const Diff d = compute_diff(ca, cb);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  EXPECT_EQ(*p.primary.moved, 0.0) << "the primaries did not change";
  ASSERT_TRUE(p.backup);
  ASSERT_TRUE(p.backup->moved);
  // The replaced backup's half must move; with only two members Maglev moves more than that
  // (about 2/3 here), which is what the sampled candidate path must confirm.
  EXPECT_GE(*p.backup->moved, 0.499);
  EXPECT_LT(*p.backup->moved, 1.0);
  EXPECT_NEAR(*p.backup->moved, sampled_moved(ca, cb, true), kSampleTolerance);
  EXPECT_NE(p.backup->fingerprint_old, p.backup->fingerprint_new);
  EXPECT_NEAR(sum_old(p, true), 100.0, 1e-9);
  EXPECT_NEAR(sum_new(p, true), 100.0, 1e-9);
  EXPECT_NEAR(sum_new(p, false), 100.0, 1e-9);
  EXPECT_EQ(backend(p, "10.0.2.3:443").change, DiffStatus::added);
  EXPECT_TRUE(backend(p, "10.0.2.3:443").backup_new);

  // No backups before, some after: the backup tier is new, so all of it "moves".
  const Diff first = compute_diff(load(config_text({a[0], a[1]})), ca);
  ASSERT_TRUE(first.pools[0].backup);
  EXPECT_EQ(first.pools[0].backup->moved, 1.0);
  EXPECT_FALSE(first.pools[0].backup->table_size_old);
  EXPECT_EQ(*first.pools[0].primary.moved, 0.0);
}

TEST(Diff, DifferentTableSizeIsMeasuredOverFlowHashesNotSlots) {
  const config::Config a = load(config_text(ten(), "table_size = 1009\n"));
  const config::Config b = load(config_text(ten(), "table_size = 1013\n"));
  const Diff d = compute_diff(a, b);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  EXPECT_EQ(p.primary.table_size_old, 1009u);
  EXPECT_EQ(p.primary.table_size_new, 1013u);
  // Same backends, new size: slots of coprime sizes are independent, so a client stays with
  // probability sum(share^2) = 10 x 0.1^2: about 90% move. A slot-by-slot comparison of the
  // first 1009 slots would say something else entirely.
  EXPECT_NEAR(*p.primary.moved, 0.9, 0.001);
  EXPECT_NEAR(*p.primary.moved, sampled_moved(a, b, false), kSampleTolerance);
}

TEST(Diff, HashModeChangeIsMeasuredAsIndependentSlots) {
  const config::Config a = load(config_text(ten()));
  const config::Config b = load(config_text(ten(), "hash = \"client_ip_port\"\n"));
  const Diff d = compute_diff(a, b);
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  EXPECT_EQ(p.primary.fingerprint_old, p.primary.fingerprint_new) << "same table, different flow hash";
  EXPECT_NEAR(*p.primary.moved, 0.9, 0.001);
  ASSERT_EQ(p.settings.size(), 1u);
  EXPECT_EQ(p.settings[0].key, "hash");
}

TEST(Diff, SettingsOnlyChangeMovesNothingButDiffers) {
  const Diff d = compute_diff(load(config_text(ten())), load(config_text(ten(), "retries = 3\n")));
  const PoolDiff& p = d.pools[0];
  EXPECT_EQ(p.status, DiffStatus::changed);
  EXPECT_EQ(*p.primary.moved, 0.0);
  ASSERT_EQ(p.settings.size(), 1u);
  EXPECT_EQ(p.settings[0].key, "retries");
  EXPECT_EQ(p.settings[0].old_value, "2");
  EXPECT_EQ(p.settings[0].new_value, "3");
  EXPECT_FALSE(d.same());
}

TEST(Diff, ListenerChanges) {
  const std::string q = "[pools.q]\n[[pools.q.backends]]\naddress = \"10.0.1.1:443\"\n";
  const std::string second = "[listeners.admin2]\nbind = \"0.0.0.0:8443\"\npool = \"q\"\n";
  const config::Config a = load(config_text(ten(), "", q));
  // public: new bind and pool p -> q; admin2: added.
  std::string b_text = config_text(ten(), "", q + second, "0.0.0.0:444");
  b_text.replace(b_text.find("pool = \"p\""), 10, "pool = \"q\"");
  const config::Config b = load(b_text);
  const Diff d = compute_diff(a, b);
  ASSERT_EQ(d.listeners.size(), 2u);
  EXPECT_EQ(d.listeners[0].name, "admin2");
  EXPECT_EQ(d.listeners[0].status, DiffStatus::added);
  EXPECT_FALSE(d.listeners[0].moved);
  const ListenerDiff& pub = d.listeners[1];
  EXPECT_EQ(pub.status, DiffStatus::changed);
  EXPECT_EQ(pub.bind_old, "0.0.0.0:443");
  EXPECT_EQ(pub.bind_new, "0.0.0.0:444");
  EXPECT_EQ(pub.pool_old, "p");
  EXPECT_EQ(pub.pool_new, "q");
  // Pool q's only backend is 10.0.1.1, which held a tenth of pool p: the rest move.
  ASSERT_TRUE(pub.moved);
  EXPECT_NEAR(*pub.moved, 0.9, 0.001);
  EXPECT_EQ(d.pools[0].status, DiffStatus::unchanged);
  EXPECT_FALSE(d.same());
  EXPECT_TRUE(d.restart_reasons.empty()) << "listener changes reload";
  EXPECT_NE(format_diff(d, false).find("SIGHUP applies NEW"), std::string::npos);
  // The reload opens admin2's sockets and re-binds public (closed, then added on :444).
  const ListenerPlan plan = plan_listeners(a, b);
  EXPECT_EQ(plan.removed, (std::vector<std::string>{"public"}));
  ASSERT_EQ(plan.added.size(), 2u);
  EXPECT_EQ(plan.added[0].name, "admin2");
  EXPECT_EQ(plan.added[1].name, "public");
  EXPECT_EQ(plan.added[1].bind.to_string(), "0.0.0.0:444");
  EXPECT_TRUE(plan_listeners(b, a).removed.size() == 2 && plan_listeners(b, a).added.size() == 1);
}

TEST(Diff, ProxyProtocolAndGlobalChangesDifferButReload) {
  std::string b_text = config_text(ten(), "", "", "0.0.0.0:443");
  b_text.replace(b_text.find("pool = \"p\""), 10, "pool = \"p\"\nproxy_protocol = \"v2\"");
  b_text.replace(b_text.find("admin = \"\""), 10, "admin = \"\"\nmax_connections = 5");
  const Diff d = compute_diff(load(config_text(ten())), load(b_text));
  ASSERT_EQ(d.listeners[0].settings.size(), 1u);
  EXPECT_EQ(d.listeners[0].settings[0].key, "proxy_protocol");
  EXPECT_EQ(d.listeners[0].status, DiffStatus::changed);
  ASSERT_EQ(d.global.size(), 1u);
  EXPECT_EQ(d.global[0].key, "max_connections");
  EXPECT_TRUE(d.restart_reasons.empty());
  EXPECT_FALSE(d.same());
}

TEST(Diff, JsonShape) {
  std::vector<B> nine = ten();
  nine.pop_back();
  const std::string json = format_diff(compute_diff(load(config_text(ten())), load(config_text(nine))), true);
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(json.find('\n'), json.size() - 1) << "one line";
  for (const char* part : {"{\"same\":false,\"pools\":[{\"name\":\"p\",\"status\":\"changed\",\"moved\":0.",
                           "\"table_size\":{\"old\":65537,\"new\":65537}", "\"fingerprint\":{\"old\":\"",
                           "{\"address\":\"10.0.1.10:443\",\"weight_old\":100,\"weight_new\":null,"
                           "\"share_old\":10.00,\"share_new\":0.00,\"change\":\"removed\"",
                           "\"listeners\":[{\"name\":\"public\",\"status\":\"unchanged\"", "\"restart_reasons\":[]}"}) {
    EXPECT_NE(json.find(part), std::string::npos) << part << "\n" << json;
  }
}

TEST(ReloadRules, WhatNeedsARestart) {
  const config::Config a = load(config_text(ten()));
  EXPECT_TRUE(restart_reasons(a, a).empty());
  EXPECT_TRUE(restart_reasons(a, load(config_text(ten(), "retries = 5\n"))).empty());
  std::string workers = config_text(ten());
  workers.replace(workers.find("admin = \"\""), 10, "admin = \"\"\nworkers = 3\nuser = \"nobody\"");
  EXPECT_EQ(restart_reasons(a, load(workers)),
            (std::vector<std::string>{"global.workers: 0 -> 3", "global.user: \"\" -> \"nobody\""}));
  std::string datapath = config_text(ten());
  datapath.replace(datapath.find("pool = \"p\""), 10, "pool = \"p\"\ndatapath = \"splice\"\nbacklog = 10");
  EXPECT_TRUE(restart_reasons(a, load(datapath)).empty()) << "datapath and backlog reload in place";
  EXPECT_TRUE(plan_listeners(a, load(datapath)).empty()) << "the listener keeps its sockets";
  std::string buffers = config_text(ten());
  buffers.replace(buffers.find("admin = \"\""), 10, "admin = \"\"\ncopy_buffers = 0");
  EXPECT_EQ(restart_reasons(a, load(buffers)), (std::vector<std::string>{"global.copy_buffers: 256 -> 0"}));
}

}  // namespace
}  // namespace ringlb::app
