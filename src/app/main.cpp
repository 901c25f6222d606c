// ringlb: a layer-4 TCP passthrough load balancer. The only file outside the library the tests
// link: argument dispatch and exit statuses (0 clean, 2 config error, 1 other startup error;
// `diff`: 0 same, 1 different, 2 config error).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ringlb/app/cli.h"
#include "ringlb/app/diff.h"
#include "ringlb/app/route.h"
#include "ringlb/app/server.h"
#include "ringlb/common/log.h"
#include "ringlb/config/load.h"

namespace {

constexpr int kExitConfig = 2;
constexpr int kExitStartup = 1;
constexpr int kExitDifferent = 1;  // `ringlb diff`, as diff(1)

int fail(int status, const std::string& message) {
  fmt::print(stderr, "ringlb: {}\n", message);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ringlb;
  // Debug lines (per-connection resets, promotions, libbpf messages) are for troubleshooting
  // only: RINGLB_LOG_LEVEL=debug turns them on.
  if (const char* level = std::getenv("RINGLB_LOG_LEVEL"); level != nullptr && std::string_view(level) == "debug") {
    log::set_min_level(log::Level::debug);
  }
  std::vector<std::string_view> args(argv + 1, argv + argc);
  auto options = app::parse_args(args);
  if (!options) return fail(kExitConfig, options.error().message + "\n" + app::usage());

  switch (options->mode) {
    case app::Mode::help: fmt::print("{}", app::usage()); return 0;
    case app::Mode::version: fmt::print("ringlb {}\n", RINGLB_VERSION); return 0;
    case app::Mode::diff: {
      auto old_config = config::load_file(options->old_config);
      if (!old_config) return fail(kExitConfig, old_config.error().to_string());
      auto new_config = config::load_file(options->new_config);
      if (!new_config) return fail(kExitConfig, new_config.error().to_string());
      const app::Diff diff = app::compute_diff(*old_config, *new_config);
      fmt::print("{}", app::format_diff(diff, options->json));
      return diff.same() ? 0 : kExitDifferent;
    }
    default: break;
  }
  auto config = config::load_file(options->config);
  if (!config) return fail(kExitConfig, config.error().to_string());

  switch (options->mode) {
    case app::Mode::check: fmt::print("{}", config::summary(*config)); return 0;
    case app::Mode::route: {
      auto route = app::compute_route(*config, options->listener, options->client);
      if (!route) return fail(kExitConfig, route.error().message);
      fmt::print("{}", app::format_route(*route, options->json));
      return 0;
    }
    default: break;
  }
  const int status = app::run_server(std::move(*config));
  return status == 0 ? 0 : kExitStartup;
}
