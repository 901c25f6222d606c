// Command-line parsing (see cli.h).
#include "ringlb/app/cli.h"

#include <fmt/format.h>

namespace ringlb::app {

std::string usage() {
  return "usage:\n"
         "  ringlb [--config FILE]            run (default FILE: /etc/ringlb/ringlb.toml)\n"
         "  ringlb --check [--config FILE]    validate the config, print a summary, exit 0 or 2\n"
         "  ringlb route [--config FILE] [--listener NAME] [--json] CLIENT_IP[:PORT]\n"
         "                                    the backend a client gets with every backend healthy,\n"
         "                                    its fallbacks in order, and the table fingerprint\n"
         "  ringlb diff [--json] OLD.toml NEW.toml\n"
         "                                    before a reload: per pool the share of clients that move\n"
         "                                    and each backend's share before and after, listener and\n"
         "                                    global changes, whether SIGHUP can apply NEW; exit 0 when\n"
         "                                    the configs route identically and nothing differs, 1 when\n"
         "                                    something differs, 2 on a config or usage error (like diff)\n"
         "  ringlb --version | --help\n"
         "signals: SIGHUP reloads the config; SIGTERM/SIGINT drain (a second one exits at once)\n";
}

Result<Options> parse_args(std::span<const std::string_view> args) {
  Options o;
  size_t i = 0;
  if (!args.empty() && args[0] == "route") {
    o.mode = Mode::route;
    i = 1;
  } else if (!args.empty() && args[0] == "diff") {
    o.mode = Mode::diff;
    i = 1;
  }
  for (; i < args.size(); ++i) {
    const std::string_view a = args[i];
    auto value = [&](std::string_view flag) -> Result<std::string> {
      if (i + 1 >= args.size()) return Error{fmt::format("{} needs a value", flag)};
      return std::string(args[++i]);
    };
    if (o.mode == Mode::diff && (a == "--config" || a == "-c" || a.starts_with("--config="))) {
      return Error{"diff takes OLD.toml and NEW.toml as arguments, not --config"};
    } else if (a == "--config" || a == "-c") {
      auto v = value(a);
      if (!v) return v.error();
      o.config = *v;
    } else if (a.starts_with("--config=")) {
      o.config = std::string(a.substr(9));
    } else if (a == "--check") {
      if (o.mode == Mode::route || o.mode == Mode::diff) return Error{"--check cannot be combined with route or diff"};
      o.mode = Mode::check;
    } else if (a == "--version" || a == "-V") {
      o.mode = Mode::version;
    } else if (a == "--help" || a == "-h") {
      o.mode = Mode::help;
    } else if (o.mode == Mode::route && a == "--listener") {
      auto v = value(a);
      if (!v) return v.error();
      o.listener = *v;
    } else if ((o.mode == Mode::route || o.mode == Mode::diff) && a == "--json") {
      o.json = true;
    } else if (o.mode == Mode::diff && !a.starts_with("-") && o.new_config.empty()) {
      (o.old_config.empty() ? o.old_config : o.new_config) = std::string(a);
    } else if (o.mode == Mode::route && !a.starts_with("-") && o.client.empty()) {
      o.client = std::string(a);
    } else {
      return Error{fmt::format("unexpected argument '{}'", a)};
    }
  }
  if (o.mode == Mode::route && o.client.empty()) return Error{"route needs CLIENT_IP[:PORT]"};
  if (o.mode == Mode::diff && o.new_config.empty()) return Error{"diff needs OLD.toml and NEW.toml"};
  return o;
}

}  // namespace ringlb::app
