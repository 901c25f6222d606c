// Cross-value validation (see validate.h). The rules, in the order they are checked:
//   at least one listener and one pool;
//   per pool: at least one backend, at least one non-backup backend, backend addresses
//     unique, table_size >= backends, health.timeout <= health.interval;
//   per listener: pool names an existing pool, bind address unique among listeners;
//   global.admin is not also a listener's bind address;
//   global.user, when set, exists in the user database (getpwnam_r at load time).
#include "validate.h"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

namespace ringlb::config::detail {
namespace {

std::string backend_key(const Pool& p, size_t i) {
  return fmt::format("{}[{}]", join_key(join_key("pools", p.name), "backends"), i);
}

Status validate_pool(const Pool& p, const SourceMap& where) {
  const std::string key = join_key("pools", p.name);
  if (p.backends.empty()) {
    return where.error(join_key(key, "backends"),
                       fmt::format("pool \"{}\" has no backends: add at least one "
                                   "[[{}.backends]] with an address",
                                   p.name, key));
  }
  std::map<Address, size_t> seen;
  bool has_primary = false;
  for (size_t i = 0; i < p.backends.size(); ++i) {
    const Backend& b = p.backends[i];
    has_primary = has_primary || !b.backup;
    auto [it, inserted] = seen.emplace(b.address, i);
    if (!inserted) {
      return where.error(backend_key(p, i) + ".address",
                         fmt::format("duplicate backend {} (also backends[{}])",
                                     b.address.to_string(), it->second));
    }
  }
  if (!has_primary) {
    return where.error(join_key(key, "backends"),
                       fmt::format("pool \"{}\" has no primary backend: every backend has "
                                   "backup = true, so none would ever be used first",
                                   p.name));
  }
  if (p.table_size < p.backends.size()) {
    return where.error(join_key(key, "table_size"),
                       fmt::format("table_size {} is smaller than the {} backends; use a prime "
                                   ">= 100 x backends",
                                   p.table_size, p.backends.size()));
  }
  if (p.health.timeout > p.health.interval) {
    // Blame the key the operator wrote: a short interval next to the default timeout is
    // reported on the interval.
    const std::string health = join_key(key, "health");
    const std::string timeout_key = join_key(health, "timeout");
    if (!where.has(timeout_key) && where.has(join_key(health, "interval"))) {
      return where.error(join_key(health, "interval"),
                         fmt::format("health interval {} is shorter than the timeout {} "
                                     "(default); set timeout <= interval",
                                     format_duration(p.health.interval),
                                     format_duration(p.health.timeout)));
    }
    return where.error(timeout_key, fmt::format("health timeout {} exceeds the interval {}",
                                                format_duration(p.health.timeout),
                                                format_duration(p.health.interval)));
  }
  return Ok{};
}

Status validate_listeners(const Config& c, const SourceMap& where) {
  std::map<Address, std::string_view> binds;
  for (const Listener& l : c.listeners) {
    const std::string key = join_key("listeners", l.name);
    if (c.find_pool(l.pool) == nullptr) {
      return where.error(join_key(key, "pool"),
                         fmt::format("no pool named \"{}\" (define [{}])", l.pool,
                                     join_key("pools", l.pool)));
    }
    if (l.datapath == Datapath::sockmap && c.global.copy_buffers == 0) {
      // A paused sockmap direction is forwarded through copy buffers (splice cannot read the
      // psock's queue).
      return where.error(join_key(key, "datapath"),
                         "\"sockmap\" needs global.copy_buffers > 0 (it is 0); use \"auto\" or \"splice\"");
    }
    auto [it, inserted] = binds.emplace(l.bind, l.name);
    if (!inserted) {
      // With SO_REUSEPORT both binds would succeed and silently share the traffic.
      return where.error(join_key(key, "bind"),
                         fmt::format("{} is already the bind address of listener \"{}\"",
                                     l.bind.to_string(), it->second));
    }
  }
  if (!c.global.admin.empty()) {
    auto admin = parse_address(c.global.admin);
    if (admin && binds.contains(*admin)) {
      return where.error("global.admin",
                         fmt::format("{} is also the bind address of listener \"{}\"",
                                     admin->to_string(), binds[*admin]));
    }
  }
  return Ok{};
}

// Whether `name` exists in the user database (files, NSS). A lookup failure other than
// "not found" is an error too: we could not confirm the user.
Status check_user(const std::string& name, const SourceMap& where) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<size_t>(hint) : 16384);
  for (;;) {
    passwd pwd{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(name.c_str(), &pwd, buf.data(), buf.size(), &found);
    if (rc == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (rc != 0) {
      return where.error("global.user",
                         fmt::format("cannot look up user \"{}\": {}", name, std::strerror(rc)));
    }
    if (found == nullptr) {
      return where.error("global.user", fmt::format("no such user \"{}\"", name));
    }
    return Ok{};
  }
}

}  // namespace

Status validate(const Config& c, const SourceMap& where) {
  if (c.listeners.empty()) {
    return where.error("listeners",
                       "no listeners: define at least one [listeners.NAME] with bind and pool");
  }
  if (c.pools.empty()) {
    return where.error("pools", "no pools: define at least one [pools.NAME] with backends");
  }
  for (const Pool& p : c.pools) {
    if (auto s = validate_pool(p, where); !s) return s;
  }
  if (auto s = validate_listeners(c, where); !s) return s;
  if (!c.global.user.empty()) {
    if (auto s = check_user(c.global.user, where); !s) return s;
  }
  return Ok{};
}

}  // namespace ringlb::config::detail
