// A small snapshot for the admin unit tests: listener "l" -> pool "p" with backends
// 10.0.0.1:443, 10.0.0.2:443 and [::1]:8080, plus pool "q" with one backend.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "ringlb/config/load.h"
#include "ringlb/lb/snapshot_builder.h"

namespace ringlb::admin::test {

inline constexpr std::string_view kConfig = R"(
[global]
admin = ""
[listeners.l]
bind = "127.0.0.1:1443"
pool = "p"
[pools.p]
table_size = 1009
[[pools.p.backends]]
address = "10.0.0.1:443"
[[pools.p.backends]]
address = "10.0.0.2:443"
weight = 50
[[pools.p.backends]]
address = "[::1]:8080"
[pools.q]
table_size = 101
[[pools.q.backends]]
address = "10.0.1.1:80"
)";

inline config::Config load_config(std::string_view text = kConfig) {
  auto c = config::load_string(text, "test.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string());
  return std::move(c).value();
}

inline std::shared_ptr<lb::Snapshot> make_snapshot() { return lb::build_snapshot(load_config(), nullptr); }

}  // namespace ringlb::admin::test
