// Config: the validated, immutable form of a ringlb TOML file (schema in DESIGN.md).
// Built once by config::load on the control plane; the data plane never sees it (it reads
// the Snapshot built from it). Defaults here are the documented defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ringlb/common/address.h"
#include "ringlb/common/units.h"

namespace ringlb::config {

using namespace std::chrono_literals;

enum class LogFormat { text, json };
enum class Datapath { automatic, splice, sockmap };  // "auto" | "splice" | "sockmap"
enum class ProxyProtocol { off, v1, v2 };
enum class HashMode { client_ip, client_ip_port };

struct Global {
  uint32_t workers = 0;               // 0: one per online CPU
  uint32_t max_connections = 100000;  // client connections across all listeners
  std::string admin = "127.0.0.1:9100";  // "" disables; otherwise a valid address (checked)
  std::string user;                   // "" = stay as started
  Duration drain_timeout = 30s;
  LogFormat log_format = LogFormat::text;
  uint32_t copy_buffers = 256;        // per worker, 16 KiB each; 0: every read uses splice(2)
  std::string access_log;             // "" off, "-" stderr, else an absolute path (checked)
  LogFormat access_log_format = LogFormat::text;
};

struct Listener {
  std::string name;
  Address bind;
  std::string pool;  // names an entry of Config::pools (checked)
  Datapath datapath = Datapath::automatic;
  uint32_t backlog = 4096;
  ProxyProtocol proxy_protocol = ProxyProtocol::off;
  uint64_t sockmap_promote_after = 16 * 1024;  // bytes (both ways) on splice before promotion
  uint64_t sockmap_max_lag = 4 * 1024 * 1024;  // per direction: in-kernel backlog before a pause
};

struct Health {
  Duration interval = 2s;
  Duration timeout = 1s;  // must be <= interval (checked)
  uint32_t rise = 2;
  uint32_t fall = 3;
};

struct Backend {
  Address address;
  uint32_t weight = 100;          // 1..65535
  bool backup = false;
  uint32_t max_connections = 0;   // 0: unlimited
};

struct Pool {
  std::string name;
  HashMode hash = HashMode::client_ip;
  uint32_t table_size = 65537;  // prime, >= number of backends (checked)
  Duration connect_timeout = 3s;
  Duration idle_timeout = 10min;
  uint32_t retries = 2;
  Health health;
  std::vector<Backend> backends;  // in file order; at least one; addresses unique in the pool
};

struct Config {
  std::string path;  // the file it came from ("" when parsed from a string)
  Global global;
  std::vector<Listener> listeners;  // sorted by name; at least one
  std::vector<Pool> pools;          // sorted by name; at least one

  const Pool* find_pool(std::string_view name) const noexcept;
};

std::string_view to_string(LogFormat v) noexcept;
std::string_view to_string(Datapath v) noexcept;
std::string_view to_string(ProxyProtocol v) noexcept;
std::string_view to_string(HashMode v) noexcept;

}  // namespace ringlb::config
