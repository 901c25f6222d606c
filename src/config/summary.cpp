// The human summary printed by `ringlb --check`: one line for the globals, one per listener,
// one per pool and one per backend (with its share of the pool's primary weight).
// Pure formatting of an already validated Config; the wording is for people, not parsers.
#include <fmt/format.h>

#include <algorithm>

#include "ringlb/config/load.h"

namespace ringlb::config {
namespace {

std::string global_line(const Global& g) {
  return fmt::format(
      "  global: workers {}, max_connections {}, admin {}, user {}, drain_timeout {}, "
      "log_format {}, copy_buffers {}, access_log {}\n",
      g.workers == 0 ? std::string("auto (one per CPU)") : std::to_string(g.workers),
      g.max_connections, g.admin.empty() ? std::string("off") : g.admin,
      g.user.empty() ? std::string("(unchanged)") : g.user, format_duration(g.drain_timeout),
      to_string(g.log_format), g.copy_buffers,
      g.access_log.empty() ? std::string("off")
                           : fmt::format("{} ({})", g.access_log == "-" ? "stderr" : g.access_log,
                                         to_string(g.access_log_format)));
}

std::string pool_lines(const Config& c, const Pool& p) {
  size_t backups = 0;
  uint64_t primary_weight = 0;
  for (const Backend& b : p.backends) {
    if (b.backup) {
      ++backups;
    } else {
      primary_weight += b.weight;
    }
  }
  const bool used = std::any_of(c.listeners.begin(), c.listeners.end(),
                                [&p](const Listener& l) { return l.pool == p.name; });
  std::string out = fmt::format(
      "  pool {}: {} backend{} ({} primary, {} backup), hash {}, table {}, retries {}, "
      "connect {}, idle {}, health {}/{} rise {} fall {}{}\n",
      p.name, p.backends.size(), p.backends.size() == 1 ? "" : "s", p.backends.size() - backups, backups, to_string(p.hash),
      p.table_size, p.retries, format_duration(p.connect_timeout),
      format_duration(p.idle_timeout), format_duration(p.health.interval),
      format_duration(p.health.timeout), p.health.rise, p.health.fall,
      used ? "" : " (not used by any listener)");
  for (const Backend& b : p.backends) {
    out += fmt::format("    {} weight {}", b.address.to_string(), b.weight);
    if (b.backup) {
      out += " backup";
    } else if (primary_weight > 0) {
      out += fmt::format(" ({:.1f}%)", 100.0 * b.weight / static_cast<double>(primary_weight));
    }
    if (b.max_connections > 0) out += fmt::format(" max_connections {}", b.max_connections);
    out += '\n';
  }
  return out;
}

}  // namespace

std::string summary(const Config& c) {
  std::string out = c.path.empty() ? std::string("config OK\n")
                                   : fmt::format("config OK: {}\n", c.path);
  out += global_line(c.global);
  for (const Listener& l : c.listeners) {
    out += fmt::format("  listener {} {} -> pool {} (datapath {}, backlog {}, proxy_protocol {})\n",
                       l.name, l.bind.to_string(), l.pool, to_string(l.datapath), l.backlog,
                       to_string(l.proxy_protocol));
  }
  for (const Pool& p : c.pools) out += pool_lines(c, p);
  return out;
}

}  // namespace ringlb::config
