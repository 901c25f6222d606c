// Command-line parsing: the modes and their arguments, and usage errors.
#include "ringlb/app/cli.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringlb::app {
namespace {

Result<Options> parse(std::vector<std::string_view> args) { return parse_args(args); }

TEST(Cli, DefaultsToRunWithTheSystemConfig) {
  auto o = parse({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::run);
  EXPECT_EQ(o->config, "/etc/ringlb/ringlb.toml");
}

TEST(Cli, CheckAndConfig) {
  auto o = parse({"--check", "--config", "x.toml"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::check);
  EXPECT_EQ(o->config, "x.toml");
  EXPECT_EQ(parse({"--config=y.toml"})->config, "y.toml");
}

TEST(Cli, Route) {
  auto o = parse({"route", "--config", "c.toml", "--listener", "public", "--json", "10.1.2.3:555"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::route);
  EXPECT_EQ(o->listener, "public");
  EXPECT_TRUE(o->json);
  EXPECT_EQ(o->client, "10.1.2.3:555");
}

TEST(Cli, Diff) {
  auto o = parse({"diff", "old.toml", "--json", "new.toml"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::diff);
  EXPECT_TRUE(o->json);
  EXPECT_EQ(o->old_config, "old.toml");
  EXPECT_EQ(o->new_config, "new.toml");
  EXPECT_FALSE(parse({"diff", "old.toml"}).ok());                       // NEW missing
  EXPECT_FALSE(parse({"diff", "a.toml", "b.toml", "c.toml"}).ok());
  EXPECT_FALSE(parse({"diff", "--config", "a.toml", "b.toml"}).ok());   // files are positional
  EXPECT_FALSE(parse({"diff", "--listener", "x", "a.toml", "b.toml"}).ok());
  EXPECT_NE(usage().find("ringlb diff [--json] OLD.toml NEW.toml"), std::string::npos);
}

TEST(Cli, Errors) {
  EXPECT_FALSE(parse({"route"}).ok());                  // no client
  EXPECT_FALSE(parse({"--config"}).ok());               // missing value
  EXPECT_FALSE(parse({"--bogus"}).ok());
  EXPECT_FALSE(parse({"--json"}).ok());                 // route-only flag
  EXPECT_FALSE(parse({"route", "1.2.3.4", "5.6.7.8"}).ok());
}

}  // namespace
}  // namespace ringlb::app
