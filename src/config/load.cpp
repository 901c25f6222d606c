// Config loading: TOML text -> Config. This file is the only user of toml++ (header-only,
// exceptions off). It checks syntax, keys, types and single-value ranges while recording
// where every key was written; validate.cpp then checks the relations between values.
// The first error found is returned; every path is a Result, nothing throws or aborts.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
// toml++ 3.3.0 asserts a precondition of parse_key() that a malformed table header such as
// "[=]", "[:a]" or "[[[a]]]" violates (fixed upstream in marzer/tomlplusplus PR #301); the
// code after the assertion already reports a proper parse error. A config is untrusted
// input, so its assertions are compiled out (as NDEBUG does) instead of aborting, and the
// matching optimizer assumption is disabled too (clang's __builtin_assume would make the
// error path unreachable). ConfigRobustness.MalformedHeaders covers this.
#define TOML_ASSERT(expr) static_assert(true)
#include <toml++/impl/preprocessor.h>
#undef TOML_ASSUME
#define TOML_ASSUME(...) static_assert(true)
#include <toml++/toml.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <utility>

#include "limits.h"
#include "ringlb/config/load.h"
#include "source_map.h"
#include "validate.h"

// Propagates the Error of a failed Status/Result out of the enclosing function.
#define RINGLB_TRY(expr)                                        \
  do {                                                          \
    if (auto try_status_ = (expr); !try_status_.ok()) {         \
      return std::move(try_status_).error();                    \
    }                                                           \
  } while (0)

namespace ringlb::config {
namespace {

using detail::join_key;
using detail::Location;
using detail::SourceMap;

template <class E, size_t N>
using EnumNames = std::array<std::pair<std::string_view, E>, N>;

constexpr EnumNames<LogFormat, 2> kLogFormats{{{"text", LogFormat::text},
                                               {"json", LogFormat::json}}};
constexpr EnumNames<Datapath, 3> kDatapaths{{{"auto", Datapath::automatic},
                                             {"splice", Datapath::splice},
                                             {"sockmap", Datapath::sockmap}}};
constexpr EnumNames<ProxyProtocol, 3> kProxyProtocols{{{"off", ProxyProtocol::off},
                                                       {"v1", ProxyProtocol::v1},
                                                       {"v2", ProxyProtocol::v2}}};
constexpr EnumNames<HashMode, 2> kHashModes{{{"client_ip", HashMode::client_ip},
                                             {"client_ip_port", HashMode::client_ip_port}}};

Location location_of(const toml::source_region& region) {
  return {static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// Levenshtein distance, for "did you mean" on unknown keys. Keys are short (< 20 chars);
// longer input is cut off so a hostile key cannot make this quadratic in the file size.
size_t edit_distance(std::string_view a, std::string_view b) {
  a = a.substr(0, 64);
  b = b.substr(0, 64);
  std::array<size_t, 65> prev{}, cur{};
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    prev = cur;
  }
  return prev[b.size()];
}

// Listener and pool names: see limits::kMaxNameLength for the rule and why.
Status check_name(const SourceMap& map, const toml::key& name, const std::string& path,
                  std::string_view what) {
  const std::string_view s = name.str();
  const Location at = location_of(name.source());
  if (s.empty()) return map.error_at(at, path, fmt::format("{} name must not be empty", what));
  const bool bare = std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
  if (!bare || s.size() > limits::kMaxNameLength) {
    return map.error_at(at, path,
                        fmt::format("invalid {} name: use 1..{} of A-Z a-z 0-9 _ -", what,
                                    limits::kMaxNameLength));
  }
  return Ok{};
}

// Reads the keys of one TOML table into config fields. Every getter leaves the field at its
// default when the key is absent, records the key's location in the SourceMap, and fails
// with the value's location and dotted key when the type or range is wrong.
class TableReader {
 public:
  TableReader(SourceMap& map, const toml::table& table, std::string path)
      : map_(map), table_(table), path_(std::move(path)) {
    map_.add(path_, location_of(table_.source()));
  }

  const std::string& path() const noexcept { return path_; }
  const toml::table& table() const noexcept { return table_; }
  std::string key(std::string_view name) const { return join_key(path_, name); }

  // Fails on the first key not in `allowed` (in the table's key order).
  Status only_keys(std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : table_) {
      const std::string_view name = k.str();
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
      std::string message = fmt::format("unknown key \"{}\"", name);
      size_t best = 3;  // suggest only close matches: at most 2 edits
      std::string_view suggestion;
      for (std::string_view a : allowed) {
        if (size_t d = edit_distance(name, a); d < best) best = d, suggestion = a;
      }
      if (!suggestion.empty()) message += fmt::format(" (did you mean \"{}\"?)", suggestion);
      message += "; allowed here:";
      for (std::string_view a : allowed) message += fmt::format(" {}", a);
      return map_.error_at(location_of(k.source()), key(name), std::move(message));
    }
    return Ok{};
  }

  // The node under `name`, recording its location; nullptr when absent.
  const toml::node* find(std::string_view name) const {
    const toml::node* node = table_.get(name);
    if (node != nullptr) map_.add(key(name), location_of(node->source()));
    return node;
  }

  Error missing(std::string_view name, std::string_view hint) const {
    return map_.error_at(location_of(table_.source()), key(name),
                         fmt::format("missing required key \"{}\" ({})", name, hint));
  }

  Error wrong_type(std::string_view name, const toml::node& node, std::string_view want) const {
    return at(name, node, fmt::format("expected {}, got {}", want, type_name(node)));
  }

  Error at(std::string_view name, const toml::node& node, std::string message) const {
    return map_.error_at(location_of(node.source()), key(name), std::move(message));
  }

  Status integer(std::string_view name, uint32_t& out, int64_t min, int64_t max) const {
    const toml::node* node = find(name);
    if (node == nullptr) return Ok{};
    const auto* v = node->as_integer();
    if (v == nullptr) return wrong_type(name, *node, "an integer");
    const int64_t n = v->get();
    if (n < min || n > max) {
      return at(name, *node, fmt::format("must be {}..{}, got {}", min, max, n));
    }
    out = static_cast<uint32_t>(n);
    return Ok{};
  }

  Status boolean(std::string_view name, bool& out) const {
    const toml::node* node = find(name);
    if (node == nullptr) return Ok{};
    const auto* v = node->as_boolean();
    if (v == nullptr) return wrong_type(name, *node, "a boolean (true or false)");
    out = v->get();
    return Ok{};
  }

  // A string value; nullptr (and `out` untouched) when absent.
  Result<const toml::node*> string(std::string_view name, std::string& out) const {
    const toml::node* node = find(name);
    if (node == nullptr) return node;
    const auto* v = node->as_string();
    if (v == nullptr) return wrong_type(name, *node, "a string");
    out = v->get();
    return node;
  }

  Status size(std::string_view name, uint64_t& out, uint64_t min, uint64_t max) const {
    const toml::node* node = find(name);
    if (node == nullptr) return Ok{};
    const auto* v = node->as_string();
    if (v == nullptr) return wrong_type(name, *node, "a size string such as \"4MiB\"");
    auto n = parse_size(v->get());
    if (!n) return at(name, *node, n.error().message);
    if (*n < min || *n > max) {
      return at(name, *node, fmt::format("must be between {} and {} bytes, got \"{}\"", min, max, v->get()));
    }
    out = *n;
    return Ok{};
  }

  Status duration(std::string_view name, Duration& out, Duration max) const {
    const toml::node* node = find(name);
    if (node == nullptr) return Ok{};
    const auto* v = node->as_string();
    if (v == nullptr) return wrong_type(name, *node, "a duration string such as \"2s\"");
    auto d = parse_duration(v->get());
    if (!d) return at(name, *node, d.error().message);
    if (*d < limits::kMinDuration || *d > max) {
      return at(name, *node,
                fmt::format("must be between {} and {}, got \"{}\"",
                            format_duration(limits::kMinDuration), format_duration(max),
                            v->get()));
    }
    out = *d;
    return Ok{};
  }

  template <class E, size_t N>
  Status enumeration(std::string_view name, E& out, const EnumNames<E, N>& names) const {
    std::string text;
    auto node = string(name, text);
    if (!node) return std::move(node).error();
    if (*node == nullptr) return Ok{};
    for (const auto& [spelling, value] : names) {
      if (text == spelling) {
        out = value;
        return Ok{};
      }
    }
    std::string allowed;
    for (const auto& [spelling, value] : names) {
      allowed += fmt::format("{}\"{}\"", allowed.empty() ? "" : " | ", spelling);
    }
    return at(name, **node, fmt::format("invalid value \"{}\": expected {}", text, allowed));
  }

  // A required "IP:port" address with a non-zero port.
  Status address(std::string_view name, Address& out) const {
    std::string text;
    auto node = string(name, text);
    if (!node) return std::move(node).error();
    if (*node == nullptr) return missing(name, "an address such as \"10.0.0.1:443\"");
    auto a = parse_address(text);
    if (!a) return at(name, **node, a.error().message);
    out = *a;
    return Ok{};
  }

 private:
  SourceMap& map_;
  const toml::table& table_;
  std::string path_;
};

// A sub-table under `name`, or nullptr when absent; an error when it is not a table.
Result<const toml::table*> sub_table(const TableReader& parent, std::string_view name) {
  const toml::node* node = parent.find(name);
  if (node == nullptr) return static_cast<const toml::table*>(nullptr);
  if (const auto* t = node->as_table()) return t;
  return parent.wrong_type(name, *node, "a table");
}

Status read_global(const TableReader& r, Global& g) {
  RINGLB_TRY(r.only_keys(
      {"workers", "max_connections", "admin", "user", "drain_timeout", "log_format", "copy_buffers", "access_log",
       "access_log_format"}));
  RINGLB_TRY(r.integer("workers", g.workers, 0, limits::kMaxWorkers));
  RINGLB_TRY(r.integer("max_connections", g.max_connections, limits::kMinMaxConnections,
                       limits::kMaxMaxConnections));
  auto admin = r.string("admin", g.admin);
  if (!admin) return std::move(admin).error();
  if (*admin != nullptr && !g.admin.empty()) {
    auto a = parse_address(g.admin);
    if (!a) return r.at("admin", **admin, a.error().message + " (\"\" disables the admin API)");
  }
  auto user = r.string("user", g.user);
  if (!user) return std::move(user).error();
  RINGLB_TRY(r.duration("drain_timeout", g.drain_timeout, limits::kMaxDrainTimeout));
  RINGLB_TRY(r.enumeration("log_format", g.log_format, kLogFormats));
  RINGLB_TRY(r.integer("copy_buffers", g.copy_buffers, 0, limits::kMaxCopyBuffers));
  auto access_log = r.string("access_log", g.access_log);
  if (!access_log) return std::move(access_log).error();
  // Absolute: a daemon's working directory is "/" or wherever it was started from.
  if (*access_log != nullptr && !g.access_log.empty() && g.access_log != "-" && g.access_log.front() != '/') {
    return r.at("access_log", **access_log,
                "must be an absolute path, \"-\" (stderr) or \"\" (off), got \"" + g.access_log + "\"");
  }
  RINGLB_TRY(r.enumeration("access_log_format", g.access_log_format, kLogFormats));
  if (g.copy_buffers & (g.copy_buffers - 1)) {
    return r.at("copy_buffers", *r.find("copy_buffers"),
                fmt::format("must be 0 or a power of two, got {}", g.copy_buffers));
  }
  return Ok{};
}

Status read_listener(const TableReader& r, Listener& l) {
  RINGLB_TRY(r.only_keys({"bind", "pool", "datapath", "backlog", "proxy_protocol", "sockmap_promote_after",
                          "sockmap_max_lag"}));
  RINGLB_TRY(r.address("bind", l.bind));
  auto pool = r.string("pool", l.pool);
  if (!pool) return std::move(pool).error();
  if (*pool == nullptr) return r.missing("pool", "the name of a [pools.NAME] table");
  if (l.pool.empty()) return r.at("pool", **pool, "must name a pool, got \"\"");
  RINGLB_TRY(r.enumeration("datapath", l.datapath, kDatapaths));
  RINGLB_TRY(r.integer("backlog", l.backlog, limits::kMinBacklog, limits::kMaxBacklog));
  RINGLB_TRY(r.enumeration("proxy_protocol", l.proxy_protocol, kProxyProtocols));
  RINGLB_TRY(r.size("sockmap_promote_after", l.sockmap_promote_after, 0, limits::kMaxPromoteAfter));
  RINGLB_TRY(r.size("sockmap_max_lag", l.sockmap_max_lag, limits::kMinSockmapLag, limits::kMaxSockmapLag));
  return Ok{};
}

bool is_prime(uint32_t n) {
  if (n < 2) return false;
  for (uint32_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

Status read_health(const TableReader& r, Health& h) {
  RINGLB_TRY(r.only_keys({"interval", "timeout", "rise", "fall"}));
  RINGLB_TRY(r.duration("interval", h.interval, limits::kMaxHealthInterval));
  RINGLB_TRY(r.duration("timeout", h.timeout, limits::kMaxHealthInterval));
  RINGLB_TRY(r.integer("rise", h.rise, limits::kMinRiseFall, limits::kMaxRiseFall));
  RINGLB_TRY(r.integer("fall", h.fall, limits::kMinRiseFall, limits::kMaxRiseFall));
  return Ok{};
}

Status read_backend(const TableReader& r, Backend& b) {
  RINGLB_TRY(r.only_keys({"address", "weight", "backup", "max_connections"}));
  RINGLB_TRY(r.address("address", b.address));
  RINGLB_TRY(r.integer("weight", b.weight, limits::kMinWeight, limits::kMaxWeight));
  RINGLB_TRY(r.boolean("backup", b.backup));
  RINGLB_TRY(r.integer("max_connections", b.max_connections, 0, limits::kMaxMaxConnections));
  return Ok{};
}

Status read_pool(SourceMap& map, const TableReader& r, Pool& p) {
  RINGLB_TRY(r.only_keys({"hash", "table_size", "connect_timeout", "idle_timeout", "retries",
                          "health", "backends"}));
  RINGLB_TRY(r.enumeration("hash", p.hash, kHashModes));
  RINGLB_TRY(r.integer("table_size", p.table_size, limits::kMinTableSize,
                       limits::kMaxTableSize));
  if (const toml::node* node = r.find("table_size"); node != nullptr && !is_prime(p.table_size)) {
    return r.at("table_size", *node,
                fmt::format("must be prime, got {} (e.g. 65537, 131071, 262147, 524287)",
                            p.table_size));
  }
  RINGLB_TRY(r.duration("connect_timeout", p.connect_timeout, limits::kMaxConnectTimeout));
  RINGLB_TRY(r.duration("idle_timeout", p.idle_timeout, limits::kMaxIdleTimeout));
  RINGLB_TRY(r.integer("retries", p.retries, 0, limits::kMaxRetries));

  auto health = sub_table(r, "health");
  if (!health) return std::move(health).error();
  if (*health != nullptr) {
    RINGLB_TRY(read_health(TableReader(map, **health, r.key("health")), p.health));
  }

  const toml::node* backends = r.find("backends");
  if (backends == nullptr) return Ok{};  // validate.cpp reports the empty pool
  const toml::array* list = backends->as_array();
  if (list == nullptr) {
    return r.wrong_type("backends", *backends,
                        fmt::format("an array of tables ([[{}]])", r.key("backends")));
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::node& item = *list->get(i);
    const std::string item_key = fmt::format("{}[{}]", r.key("backends"), i);
    const toml::table* t = item.as_table();
    if (t == nullptr) {
      return map.error_at(location_of(item.source()), item_key,
                          fmt::format("expected a table, got {}", type_name(item)));
    }
    Backend b;
    RINGLB_TRY(read_backend(TableReader(map, *t, item_key), b));
    p.backends.push_back(b);
  }
  return Ok{};
}

// [listeners.NAME] or [pools.NAME]: a table whose every value is a named table.
template <class T, class ReadOne>
Status read_named_tables(SourceMap& map, const TableReader& root, std::string_view section,
                         std::string_view what, std::vector<T>& out, ReadOne read_one) {
  auto tables = sub_table(root, section);
  if (!tables) return std::move(tables).error();
  if (*tables == nullptr) return Ok{};  // validate.cpp reports "no listeners/pools"
  const TableReader r(map, **tables, std::string(section));
  for (auto&& [name, node] : **tables) {
    const std::string path = r.key(name.str());
    RINGLB_TRY(check_name(map, name, path, what));
    const toml::table* t = node.as_table();
    if (t == nullptr) {
      return map.error_at(location_of(node.source()), path,
                          fmt::format("expected a table [{}], got {}", path, type_name(node)));
    }
    T item;
    item.name = std::string(name.str());
    RINGLB_TRY(read_one(TableReader(map, *t, path), item));
    out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end(), [](const T& a, const T& b) { return a.name < b.name; });
  return Ok{};
}

Result<Config> read_config(SourceMap& map, const toml::table& root_table) {
  Config c;
  const TableReader root(map, root_table, "");
  map.add("", {});  // the root has no header: missing top-level tables point at the file
  RINGLB_TRY(root.only_keys({"global", "listeners", "pools"}));

  auto global = sub_table(root, "global");
  if (!global) return std::move(global).error();
  if (*global != nullptr) RINGLB_TRY(read_global(TableReader(map, **global, "global"), c.global));

  RINGLB_TRY(read_named_tables(map, root, "listeners", "listener", c.listeners, read_listener));
  RINGLB_TRY(read_named_tables(map, root, "pools", "pool", c.pools,
                               [&map](const TableReader& r, Pool& p) {
                                 return read_pool(map, r, p);
                               }));
  RINGLB_TRY(detail::validate(c, map));
  return c;
}

}  // namespace

Result<Config> load_string(std::string_view text, std::string_view source_name) {
  SourceMap map{std::string(source_name)};
  toml::parse_result parsed = toml::parse(text, source_name);
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return map.error_at(location_of(e.source()), "",
                        fmt::format("TOML syntax error: {}", e.description()));
  }
  auto config = read_config(map, parsed.table());
  if (!config) return std::move(config).error();
  config->path = std::string(source_name);
  return config;
}

Result<Config> load_file(const std::string& path) {
  const auto fail = [&path](std::string message) { return Error{std::move(message), path}; };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory, not a config file");
  // Not only regular files: `--config <(generate)` hands over a pipe. The read is bounded.
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("cannot open config: {}", std::strerror(errno)));
  std::string text;
  char buf[16384];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > limits::kMaxFileBytes) {
      return fail(fmt::format("config exceeds {} bytes", limits::kMaxFileBytes));
    }
  }
  if (in.bad()) return fail(fmt::format("cannot read config: {}", std::strerror(errno)));
  return load_string(text, path);
}

}  // namespace ringlb::config
