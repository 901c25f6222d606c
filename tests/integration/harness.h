// The integration harness: a temp dir per test, config files written from a small spec with the
// ports a test discovered, the ringlb binary under test (path from $RINGLB_BIN) run as a child
// with its stderr in a file and read back as log events, and `ringlb route --json`.
// Test thread only. Every wait is bounded; every child is killed by PID at the latest in a
// destructor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fd.h"
#include "logs.h"
#include "process.h"

namespace ringlb::it {

// Upper bound for `ready` after spawn (an ASan build starts slower; the first health round
// is included).
inline constexpr auto kReadyTimeout = seconds(15);

class TempDir {
 public:
  TempDir();  // mkdtemp under $TMPDIR or /tmp
  ~TempDir();  // removes the tree unless $RINGLB_IT_KEEP is set
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// --- config -------------------------------------------------------------------------------

struct BackendSpec {
  std::string address;
  int weight = 0;  // 0: not written (default)
  bool backup = false;
  int max_connections = 0;  // 0: not written (unlimited)
};

struct PoolSpec {
  std::string name = "p";
  std::string hash = "client_ip";
  std::string connect_timeout = "500ms";
  std::string idle_timeout;  // empty: not written
  int retries = -1;          // -1: not written
  std::string health_interval = "200ms";
  std::string health_timeout = "100ms";
  int rise = 1;
  int fall = 1;
  std::vector<BackendSpec> backends;
};

struct ListenerSpec {
  std::string name = "main";
  std::string ip = "127.0.0.1";  // or "::1"
  uint16_t port = 0;
  std::string pool = "p";
  std::string datapath;  // empty: $RINGLB_IT_DATAPATH if set, else not written
  std::string sockmap_promote_after;  // empty: $RINGLB_IT_PROMOTE_AFTER if set, else not written
  std::string proxy_protocol;  // empty: not written ("off")
  int backlog = 0;             // 0: not written (default)
};

struct ConfigSpec {
  int workers = 1;
  int max_connections = 0;  // 0: not written
  int copy_buffers = -1;    // -1: not written
  std::string user;  // empty: not written
  std::string admin;  // global.admin; "" (the default here) disables the admin API
  std::string access_log;         // empty: not written (off)
  std::string access_log_format;  // empty: not written ("text")
  std::string drain_timeout = "5s";
  std::string log_format = "text";
  std::vector<ListenerSpec> listeners;
  std::vector<PoolSpec> pools;
};

// TOML per DESIGN.md "Config (TOML)"; admin is disabled (admin = "") unless the spec sets it,
// so tests never compete for a fixed admin port.
std::string to_toml(const ConfigSpec& spec);

// One listener on `port` over one pool "p" with these backends: the common shape.
ConfigSpec simple_config(uint16_t port, const std::vector<std::string>& backend_addresses);

// --- the binary ---------------------------------------------------------------------------

// $RINGLB_BIN, or "" (tests then fail with a message: meson always sets it).
std::string ringlb_binary();

class RinglbProcess {
 public:
  // Does not start anything yet. `wrapper` goes before the binary (e.g. prlimit ... --).
  RinglbProcess(const TempDir& dir, std::string config_path, std::vector<std::string> wrapper = {});
  // SIGKILL by PID if still running; prints the log tail if the test has failed.
  ~RinglbProcess();

  // Spawns `ringlb --config FILE` (plus extra args).
  bool start(std::string* err = nullptr, const std::vector<std::string>& extra_args = {});
  // Spawns and waits for the `ready` event; false (with the reason in *err) otherwise.
  bool start_and_wait_ready(std::string* err);

  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); }
  void signal(int sig) const { child_.signal(sig); }
  std::optional<int> wait_exit(milliseconds timeout) { return child_.wait_exit(timeout); }

  std::string log() const;                // the stderr file so far
  std::vector<LogEvent> events() const;   // parsed
  int count_events(const std::string& event, const std::map<std::string, std::string>& kv = {}) const;
  // Waits until at least `min_count` events match (or the process has exited and none will).
  bool wait_event(const std::string& event, const std::map<std::string, std::string>& kv,
                  milliseconds timeout, int min_count = 1);
  std::string log_tail(size_t lines = 40) const;
  const std::string& stderr_path() const { return stderr_path_; }

 private:
  std::string config_path_;
  std::vector<std::string> wrapper_;
  std::string stderr_path_;
  std::string stdout_path_;
  ChildProcess child_;
};

// Writes `spec` to DIR/ringlb.toml (path in *config_path if given), starts ringlb and waits
// for `ready`. nullptr with the reason in *err on failure.
std::unique_ptr<RinglbProcess> start_ringlb(const TempDir& dir, const ConfigSpec& spec, std::string* err,
                                            std::string* config_path = nullptr);

// --- ringlb route --------------------------------------------------------------------------

struct Route {
  std::string listener, pool, client, backend, fingerprint;
  std::vector<std::string> fallbacks;
};
// `ringlb route --config FILE [--listener NAME] --json CLIENT`; nullopt with *err on failure.
std::optional<Route> ringlb_route(const std::string& config_path, const std::string& client,
                                  const std::string& listener = "", std::string* err = nullptr);

}  // namespace ringlb::it
