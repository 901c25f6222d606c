// Loading good configs: the two shipped configs, DESIGN.md's defaults for a minimal file,
// every key set to a non-default value, ordering rules, and error formatting/locations for
// cases the bad-fixture suite does not cover (missing file, in-memory sources).
#include "ringlb/config/load.h"

#include <gtest/gtest.h>

#include <string>

namespace ringlb::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMinimal = R"(
[listeners.public]
bind = "0.0.0.0:443"
pool = "gateways"

[[pools.gateways.backends]]
address = "10.0.1.11:443"
)";

Address addr(const char* text) {
  auto a = parse_address(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.ok() ? *a : Address{};
}

Config load_ok(std::string_view text) {
  auto c = load_string(text, "test.toml");
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  return c.ok() ? *std::move(c) : Config{};
}

TEST(ConfigDefaults, MinimalConfigGetsDesignDefaults) {
  const Config c = load_ok(kMinimal);
  EXPECT_EQ(c.path, "test.toml");
  EXPECT_EQ(c.global.workers, 0u);
  EXPECT_EQ(c.global.max_connections, 100000u);
  EXPECT_EQ(c.global.admin, "127.0.0.1:9100");
  EXPECT_EQ(c.global.user, "");
  EXPECT_EQ(c.global.drain_timeout, 30s);
  EXPECT_EQ(c.global.log_format, LogFormat::text);

  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.name, "public");
  EXPECT_EQ(l.bind, addr("0.0.0.0:443"));
  EXPECT_EQ(l.pool, "gateways");
  EXPECT_EQ(l.datapath, Datapath::automatic);
  EXPECT_EQ(l.backlog, 4096u);
  EXPECT_EQ(l.proxy_protocol, ProxyProtocol::off);

  ASSERT_EQ(c.pools.size(), 1u);
  const Pool& p = c.pools[0];
  EXPECT_EQ(p.name, "gateways");
  EXPECT_EQ(p.hash, HashMode::client_ip);
  EXPECT_EQ(p.table_size, 65537u);
  EXPECT_EQ(p.connect_timeout, 3s);
  EXPECT_EQ(p.idle_timeout, 10min);
  EXPECT_EQ(p.retries, 2u);
  EXPECT_EQ(p.health.interval, 2s);
  EXPECT_EQ(p.health.timeout, 1s);
  EXPECT_EQ(p.health.rise, 2u);
  EXPECT_EQ(p.health.fall, 3u);
  ASSERT_EQ(p.backends.size(), 1u);
  const Backend& b = p.backends[0];
  EXPECT_EQ(b.address, addr("10.0.1.11:443"));
  EXPECT_EQ(b.weight, 100u);
  EXPECT_FALSE(b.backup);
  EXPECT_EQ(b.max_connections, 0u);
}

TEST(ConfigLoad, ReferenceConfig) {
  auto loaded = load_file("conf/ringlb.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  const Config& c = *loaded;
  EXPECT_EQ(c.path, "conf/ringlb.toml");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "public");
  EXPECT_EQ(c.listeners[0].bind.to_string(), "0.0.0.0:443");
  EXPECT_EQ(c.listeners[0].pool, "gateways");
  ASSERT_EQ(c.pools.size(), 1u);
  const Pool& p = c.pools[0];
  EXPECT_EQ(p.name, "gateways");
  ASSERT_EQ(p.backends.size(), 16u);
  for (size_t i = 0; i < p.backends.size(); ++i) {
    EXPECT_EQ(p.backends[i].address.to_string(), "10.0.1." + std::to_string(11 + i) + ":443");
    EXPECT_EQ(p.backends[i].weight, 100u);
    EXPECT_FALSE(p.backends[i].backup);
  }
  // The reference config spells out every default: it must equal the minimal config's view.
  const Config d = load_ok(kMinimal);
  EXPECT_EQ(c.global.workers, d.global.workers);
  EXPECT_EQ(c.global.max_connections, d.global.max_connections);
  EXPECT_EQ(c.global.admin, d.global.admin);
  EXPECT_EQ(c.global.user, d.global.user);
  EXPECT_EQ(c.global.drain_timeout, d.global.drain_timeout);
  EXPECT_EQ(c.global.log_format, d.global.log_format);
  EXPECT_EQ(c.listeners[0].datapath, d.listeners[0].datapath);
  EXPECT_EQ(c.listeners[0].backlog, d.listeners[0].backlog);
  EXPECT_EQ(c.listeners[0].proxy_protocol, d.listeners[0].proxy_protocol);
  const Pool& dp = d.pools[0];
  EXPECT_EQ(p.hash, dp.hash);
  EXPECT_EQ(p.table_size, dp.table_size);
  EXPECT_EQ(p.connect_timeout, dp.connect_timeout);
  EXPECT_EQ(p.idle_timeout, dp.idle_timeout);
  EXPECT_EQ(p.retries, dp.retries);
  EXPECT_EQ(p.health.interval, dp.health.interval);
  EXPECT_EQ(p.health.timeout, dp.health.timeout);
  EXPECT_EQ(p.health.rise, dp.health.rise);
  EXPECT_EQ(p.health.fall, dp.health.fall);
  EXPECT_EQ(p.backends[0].max_connections, dp.backends[0].max_connections);
}

TEST(ConfigLoad, DemoConfig) {
  auto loaded = load_file("conf/demo.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  const Config& c = *loaded;
  EXPECT_EQ(c.global.workers, 2u);
  EXPECT_EQ(c.global.admin, "");  // the admin API is not served yet: the demo disables it
  EXPECT_EQ(c.global.log_format, LogFormat::text);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "demo");
  EXPECT_EQ(c.listeners[0].bind.to_string(), "127.0.0.1:18443");
  EXPECT_EQ(c.listeners[0].pool, "demo");
  const Pool* p = c.find_pool("demo");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->hash, HashMode::client_ip);
  EXPECT_EQ(p->connect_timeout, 1s);
  EXPECT_EQ(p->idle_timeout, 30s);
  EXPECT_EQ(p->retries, 2u);
  EXPECT_EQ(p->health.interval, 500ms);
  EXPECT_EQ(p->health.timeout, 250ms);
  EXPECT_EQ(p->health.rise, 2u);
  EXPECT_EQ(p->health.fall, 2u);
  ASSERT_EQ(p->backends.size(), 3u);
  EXPECT_EQ(p->backends[0].address.to_string(), "127.0.0.1:18081");
  EXPECT_EQ(p->backends[1].address.to_string(), "127.0.0.1:18082");
  EXPECT_EQ(p->backends[2].address.to_string(), "127.0.0.1:18083");
  for (const Backend& b : p->backends) EXPECT_EQ(b.weight, 100u);
}

TEST(ConfigLoad, EveryKeyNonDefault) {
  const Config c = load_ok(R"(
[global]
workers = 8
max_connections = 5000
admin = "[::1]:9200"
user = "root"
drain_timeout = "2m"
log_format = "json"

[listeners.internal]
bind = "[::]:8443"
pool = "axway"
datapath = "sockmap"
backlog = 128
proxy_protocol = "v2"

[pools.axway]
hash = "client_ip_port"
table_size = 1009
connect_timeout = "250ms"
idle_timeout = "1h"
retries = 0

[pools.axway.health]
interval = "5s"
timeout = "5s"
rise = 1
fall = 10

[[pools.axway.backends]]
address = "[2001:db8::10]:8065"
weight = 65535
backup = false
max_connections = 250

[[pools.axway.backends]]
address = "192.0.2.20:8065"
weight = 1
backup = true
)");
  EXPECT_EQ(c.global.workers, 8u);
  EXPECT_EQ(c.global.max_connections, 5000u);
  EXPECT_EQ(c.global.admin, "[::1]:9200");
  EXPECT_EQ(c.global.user, "root");
  EXPECT_EQ(c.global.drain_timeout, 2min);
  EXPECT_EQ(c.global.log_format, LogFormat::json);
  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.bind, addr("[::]:8443"));
  EXPECT_EQ(l.datapath, Datapath::sockmap);
  EXPECT_EQ(l.backlog, 128u);
  EXPECT_EQ(l.proxy_protocol, ProxyProtocol::v2);
  ASSERT_EQ(c.pools.size(), 1u);
  const Pool& p = c.pools[0];
  EXPECT_EQ(p.hash, HashMode::client_ip_port);
  EXPECT_EQ(p.table_size, 1009u);
  EXPECT_EQ(p.connect_timeout, 250ms);
  EXPECT_EQ(p.idle_timeout, 1h);
  EXPECT_EQ(p.retries, 0u);
  EXPECT_EQ(p.health.interval, 5s);
  EXPECT_EQ(p.health.timeout, 5s);  // equal to the interval is allowed
  EXPECT_EQ(p.health.rise, 1u);
  EXPECT_EQ(p.health.fall, 10u);
  ASSERT_EQ(p.backends.size(), 2u);
  EXPECT_EQ(p.backends[0].address, addr("[2001:db8::10]:8065"));
  EXPECT_EQ(p.backends[0].weight, 65535u);
  EXPECT_FALSE(p.backends[0].backup);
  EXPECT_EQ(p.backends[0].max_connections, 250u);
  EXPECT_EQ(p.backends[1].weight, 1u);
  EXPECT_TRUE(p.backends[1].backup);
}

TEST(ConfigLoad, ListenersAndPoolsSortedBackendsInFileOrder) {
  const Config c = load_ok(R"(
[listeners.zeta]
bind = "127.0.0.1:3"
pool = "b"
[listeners.alpha]
bind = "127.0.0.1:1"
pool = "a"
[listeners.mid]
bind = "127.0.0.1:2"
pool = "b"

[[pools.b.backends]]
address = "10.0.0.9:1"
[[pools.b.backends]]
address = "10.0.0.1:1"
[[pools.b.backends]]
address = "10.0.0.5:1"

[[pools.a.backends]]
address = "10.0.0.1:1"
)");
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[0].name, "alpha");
  EXPECT_EQ(c.listeners[1].name, "mid");
  EXPECT_EQ(c.listeners[2].name, "zeta");
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].name, "a");
  EXPECT_EQ(c.pools[1].name, "b");
  ASSERT_EQ(c.pools[1].backends.size(), 3u);
  EXPECT_EQ(c.pools[1].backends[0].address.to_string(), "10.0.0.9:1");
  EXPECT_EQ(c.pools[1].backends[1].address.to_string(), "10.0.0.1:1");
  EXPECT_EQ(c.pools[1].backends[2].address.to_string(), "10.0.0.5:1");
  EXPECT_EQ(c.find_pool("b"), &c.pools[1]);
  EXPECT_EQ(c.find_pool("c"), nullptr);
}

TEST(ConfigLoad, InlineTablesAreEquivalent) {
  const Config c = load_ok(R"(
global = { workers = 3, admin = "" }
listeners = { web = { bind = "127.0.0.1:8080", pool = "p" } }
[pools.p]
health = { rise = 5 }
backends = [ { address = "10.0.0.1:80", weight = 7 }, { address = "10.0.0.2:80", backup = true } ]
)");
  EXPECT_EQ(c.global.workers, 3u);
  EXPECT_EQ(c.global.admin, "");
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].name, "web");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].health.rise, 5u);
  EXPECT_EQ(c.pools[0].health.fall, 3u);
  ASSERT_EQ(c.pools[0].backends.size(), 2u);
  EXPECT_EQ(c.pools[0].backends[0].weight, 7u);
  EXPECT_TRUE(c.pools[0].backends[1].backup);
}

TEST(ConfigLoad, AcceptedEdgeCases) {
  // A pool no listener uses is allowed; the same backend may appear in two pools; two
  // listeners may share a pool and a port on different addresses; backups beside a primary.
  const Config c = load_ok(R"(
[listeners.a]
bind = "127.0.0.1:443"
pool = "p"
[listeners.b]
bind = "127.0.0.2:443"
pool = "p"
[pools.p]
table_size = 2
[[pools.p.backends]]
address = "10.0.0.1:443"
[[pools.p.backends]]
address = "10.0.0.2:443"
backup = true
[[pools.spare.backends]]
address = "10.0.0.1:443"
)");
  EXPECT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].table_size, 2u);
}

TEST(ConfigErrors, MissingFileNamesThePath) {
  const std::string path = "/nonexistent/ringlb-test/ringlb.toml";
  auto c = load_file(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().file, path);
  EXPECT_EQ(c.error().to_string().rfind(path + ": ", 0), 0u) << c.error().to_string();
  EXPECT_NE(c.error().message.find("No such file"), std::string::npos) << c.error().message;
}

TEST(ConfigErrors, DirectoryIsNotAConfig) {
  auto c = load_file("conf");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().file, "conf");
}

TEST(ConfigErrors, ToStringFormat) {
  auto c = load_string(
      "[listeners.l]\nbind = \"127.0.0.1:1\"\npool = \"p\"\n"
      "[pools.p]\nretries = 99\n[[pools.p.backends]]\naddress = \"10.0.0.1:1\"\n",
      "mem.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().to_string(), "mem.toml:5:11: pools.p.retries: must be 0..32, got 99");
}

TEST(ConfigErrors, SyntaxErrorCarriesTomlLocation) {
  auto c = load_string("[global]\nworkers = 1\nworkers = 2\n", "dup.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().file, "dup.toml");
  EXPECT_EQ(c.error().line, 3);
  EXPECT_GT(c.error().column, 0);
  EXPECT_EQ(c.error().key, "");
  EXPECT_NE(c.error().message.find("TOML syntax error"), std::string::npos);
}

TEST(ConfigErrors, EmptyInputHasNoListeners) {
  auto c = load_string("", "empty.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().key, "listeners");
  EXPECT_EQ(c.error().to_string().rfind("empty.toml: listeners: ", 0), 0u)
      << c.error().to_string();
}

TEST(ConfigErrors, IntegerBeyondInt64IsASyntaxError) {
  auto c = load_string("[global]\nworkers = 99999999999999999999\n", "big.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().line, 2);
}

TEST(ConfigErrors, LongNameRejected) {
  const std::string name(65, 'a');
  auto c = load_string("[listeners." + name + "]\nbind = \"127.0.0.1:1\"\npool = \"p\"\n" +
                           "[[pools.p.backends]]\naddress = \"10.0.0.1:1\"\n",
                       "long.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().key, "listeners." + name);
  EXPECT_EQ(c.error().line, 1);
  EXPECT_EQ(c.error().column, 12);
}

TEST(ConfigEnums, Spellings) {
  EXPECT_EQ(to_string(Datapath::automatic), "auto");
  EXPECT_EQ(to_string(Datapath::splice), "splice");
  EXPECT_EQ(to_string(Datapath::sockmap), "sockmap");
  EXPECT_EQ(to_string(ProxyProtocol::off), "off");
  EXPECT_EQ(to_string(ProxyProtocol::v1), "v1");
  EXPECT_EQ(to_string(ProxyProtocol::v2), "v2");
  EXPECT_EQ(to_string(HashMode::client_ip), "client_ip");
  EXPECT_EQ(to_string(HashMode::client_ip_port), "client_ip_port");
  EXPECT_EQ(to_string(LogFormat::text), "text");
  EXPECT_EQ(to_string(LogFormat::json), "json");
}

TEST(ConfigSummary, ReferenceConfig) {
  auto c = load_file("conf/ringlb.toml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  const std::string s = summary(*c);
  EXPECT_EQ(s.rfind("config OK: conf/ringlb.toml\n", 0), 0u) << s;
  for (const char* want : {
           "  listener public 0.0.0.0:443 -> pool gateways (datapath auto, backlog 4096, "
           "proxy_protocol off)\n",
           "  pool gateways: 16 backends (16 primary, 0 backup), hash client_ip, table 65537, "
           "retries 2, connect 3s, idle 10m, health 2s/1s rise 2 fall 3\n",
           "    10.0.1.11:443 weight 100 (6.2%)\n",
           "    10.0.1.26:443 weight 100 (6.2%)\n",
           "admin 127.0.0.1:9100",
       }) {
    EXPECT_NE(s.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << s;
  }
}

TEST(ConfigSummary, MarksBackupsAndUnusedPools) {
  const Config c = load_ok(R"(
[listeners.l]
bind = "127.0.0.1:1"
pool = "p"
[[pools.p.backends]]
address = "10.0.0.1:1"
weight = 300
[[pools.p.backends]]
address = "10.0.0.2:1"
backup = true
max_connections = 10
[[pools.spare.backends]]
address = "10.0.0.3:1"
)");
  const std::string s = summary(c);
  EXPECT_NE(s.find("    10.0.0.1:1 weight 300 (100.0%)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("    10.0.0.2:1 weight 100 backup max_connections 10\n"), std::string::npos)
      << s;
  EXPECT_NE(s.find("pool spare: 1 backend (1 primary, 0 backup)"), std::string::npos) << s;
  EXPECT_NE(s.find("(not used by any listener)"), std::string::npos) << s;
}

}  // namespace
}  // namespace ringlb::config
