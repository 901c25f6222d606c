// Command-line parsing for the ringlb binary (DESIGN.md "Command line"). Pure: argv in, Options
// or a usage error out. Main thread only.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "ringlb/common/result.h"

namespace ringlb::app {

enum class Mode { run, check, route, diff, version, help };

struct Options {
  Mode mode = Mode::run;
  std::string config = "/etc/ringlb/ringlb.toml";
  std::string listener;  // route: which listener ("" = the only one)
  bool json = false;     // route, diff: print JSON
  std::string client;    // route: CLIENT_IP[:PORT]
  std::string old_config;  // diff: OLD.toml
  std::string new_config;  // diff: NEW.toml
};

// args excludes argv[0].
Result<Options> parse_args(std::span<const std::string_view> args);

std::string usage();

}  // namespace ringlb::app
