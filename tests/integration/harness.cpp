// The integration harness: temp dirs, config text, the ringlb child process, `ringlb route`.
#include "harness.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "sockets.h"

namespace ringlb::it {
namespace {

// The test process itself never dies of SIGPIPE (helpers use MSG_NOSIGNAL too, but gtest or a
// library may write to a closed pipe). Children get default dispositions back (process.cpp).
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ringlb-it-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("RINGLB_IT_KEEP")) {
    std::fprintf(stderr, "[harness] kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string to_toml(const ConfigSpec& spec) {
  std::string t;
  t += "[global]\n";
  t += fmt::format("workers = {}\n", spec.workers);
  if (spec.max_connections > 0) t += fmt::format("max_connections = {}\n", spec.max_connections);
  if (spec.copy_buffers >= 0) t += fmt::format("copy_buffers = {}\n", spec.copy_buffers);
  t += fmt::format("admin = {}\n", toml_string(spec.admin));
  if (!spec.access_log.empty()) t += fmt::format("access_log = {}\n", toml_string(spec.access_log));
  if (!spec.access_log_format.empty()) t += fmt::format("access_log_format = {}\n", toml_string(spec.access_log_format));
  if (!spec.user.empty()) t += fmt::format("user = {}\n", toml_string(spec.user));
  t += fmt::format("drain_timeout = {}\n", toml_string(spec.drain_timeout));
  t += fmt::format("log_format = {}\n", toml_string(spec.log_format));
  const char* env_datapath = std::getenv("RINGLB_IT_DATAPATH");
  const char* env_promote = std::getenv("RINGLB_IT_PROMOTE_AFTER");
  for (const auto& l : spec.listeners) {
    t += fmt::format("\n[listeners.{}]\n", l.name);
    t += fmt::format("bind = {}\n", toml_string(address(l.ip, l.port)));
    t += fmt::format("pool = {}\n", toml_string(l.pool));
    std::string datapath = l.datapath;
    // copy_buffers = 0 rules the sockmap path out (validation): such a test stays on splice.
    if (datapath.empty() && env_datapath && *env_datapath && spec.copy_buffers != 0) datapath = env_datapath;
    if (!datapath.empty()) t += fmt::format("datapath = {}\n", toml_string(datapath));
    std::string promote = l.sockmap_promote_after;
    if (promote.empty() && env_promote && *env_promote) promote = env_promote;
    if (!promote.empty()) t += fmt::format("sockmap_promote_after = {}\n", toml_string(promote));
    if (!l.proxy_protocol.empty()) t += fmt::format("proxy_protocol = {}\n", toml_string(l.proxy_protocol));
    if (l.backlog != 0) t += fmt::format("backlog = {}\n", l.backlog);
  }
  for (const auto& p : spec.pools) {
    t += fmt::format("\n[pools.{}]\n", p.name);
    t += fmt::format("hash = {}\n", toml_string(p.hash));
    t += fmt::format("connect_timeout = {}\n", toml_string(p.connect_timeout));
    if (!p.idle_timeout.empty()) t += fmt::format("idle_timeout = {}\n", toml_string(p.idle_timeout));
    if (p.retries >= 0) t += fmt::format("retries = {}\n", p.retries);
    t += fmt::format("\n[pools.{}.health]\n", p.name);
    t += fmt::format("interval = {}\n", toml_string(p.health_interval));
    t += fmt::format("timeout = {}\n", toml_string(p.health_timeout));
    t += fmt::format("rise = {}\nfall = {}\n", p.rise, p.fall);
    for (const auto& b : p.backends) {
      t += fmt::format("\n[[pools.{}.backends]]\n", p.name);
      t += fmt::format("address = {}\n", toml_string(b.address));
      if (b.weight > 0) t += fmt::format("weight = {}\n", b.weight);
      if (b.backup) t += "backup = true\n";
      if (b.max_connections > 0) t += fmt::format("max_connections = {}\n", b.max_connections);
    }
  }
  return t;
}

ConfigSpec simple_config(uint16_t port, const std::vector<std::string>& backend_addresses) {
  ConfigSpec c;
  ListenerSpec l;
  l.port = port;
  c.listeners.push_back(l);
  PoolSpec p;
  for (const auto& a : backend_addresses) p.backends.push_back(BackendSpec{a});
  c.pools.push_back(p);
  return c;
}

std::string ringlb_binary() {
  const char* b = std::getenv("RINGLB_BIN");
  return b ? b : "";
}

RinglbProcess::RinglbProcess(const TempDir& dir, std::string config_path, std::vector<std::string> wrapper)
    : config_path_(std::move(config_path)), wrapper_(std::move(wrapper)) {
  static int serial = 0;
  ++serial;
  stderr_path_ = dir.file(fmt::format("ringlb-{}.stderr", serial));
  stdout_path_ = dir.file(fmt::format("ringlb-{}.stdout", serial));
}

RinglbProcess::~RinglbProcess() {
  if (::testing::Test::HasFailure() && child_.pid() > 0) {
    std::fprintf(stderr, "[harness] ringlb pid %d (%s), stderr tail:\n%s\n", child_.pid(),
                 describe_status(child_.running() ? std::nullopt : child_.status()).c_str(), log_tail().c_str());
  }
  // ChildProcess's destructor sends SIGKILL to the PID if it is still running and reaps it.
}

bool RinglbProcess::start(std::string* err, const std::vector<std::string>& extra_args) {
  const std::string bin = ringlb_binary();
  if (bin.empty()) {
    if (err) *err = "RINGLB_BIN is not set (meson test sets it to the built ringlb)";
    return false;
  }
  std::vector<std::string> argv = wrapper_;
  argv.push_back(bin);
  argv.push_back("--config");
  argv.push_back(config_path_);
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  return child_.spawn(argv, stdout_path_, stderr_path_, err);
}

bool RinglbProcess::start_and_wait_ready(std::string* err) {
  if (!start(err)) return false;
  if (wait_event("ready", {}, kReadyTimeout)) return true;
  if (err) {
    *err = fmt::format("no `ready` event within {} s ({}); stderr:\n{}", kReadyTimeout.count(),
                       describe_status(child_.running() ? std::nullopt : child_.status()), log_tail());
  }
  return false;
}

std::string RinglbProcess::log() const { return read_file(stderr_path_); }

std::vector<LogEvent> RinglbProcess::events() const { return parse_log(log()); }

int RinglbProcess::count_events(const std::string& event, const std::map<std::string, std::string>& kv) const {
  int n = 0;
  for (const auto& e : events()) {
    if (e.event == event && e.has(kv)) ++n;
  }
  return n;
}

bool RinglbProcess::wait_event(const std::string& event, const std::map<std::string, std::string>& kv,
                               milliseconds timeout, int min_count) {
  const Deadline d = deadline_in(timeout);
  for (;;) {
    const bool alive = child_.running();
    if (count_events(event, kv) >= min_count) return true;
    if (!alive || Clock::now() >= d) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

std::string RinglbProcess::log_tail(size_t lines) const {
  const std::string all = log();
  size_t pos = all.size();
  if (pos > 0 && all[pos - 1] == '\n') --pos;
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    const size_t nl = all.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
  }
  return all.substr(pos == 0 ? 0 : pos + 1);
}

std::unique_ptr<RinglbProcess> start_ringlb(const TempDir& dir, const ConfigSpec& spec, std::string* err,
                                            std::string* config_path) {
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  if (config_path) *config_path = cfg;
  auto lb = std::make_unique<RinglbProcess>(dir, cfg);
  if (!lb->start_and_wait_ready(err)) return nullptr;
  return lb;
}

std::optional<Route> ringlb_route(const std::string& config_path, const std::string& client,
                                  const std::string& listener, std::string* err) {
  std::vector<std::string> argv = {ringlb_binary(), "route", "--config", config_path};
  if (!listener.empty()) {
    argv.push_back("--listener");
    argv.push_back(listener);
  }
  argv.push_back("--json");
  argv.push_back(client);
  const CommandResult r = run_command(argv, seconds(20));
  if (r.code() != 0) {
    if (err) *err = fmt::format("route {}: {}; stderr: {}", client, describe_status(r.status), r.err);
    return std::nullopt;
  }
  auto obj = parse_flat_json(r.out);
  if (!obj || !obj->count("backend")) {
    if (err) *err = fmt::format("route {}: not the documented JSON object: {}", client, r.out);
    return std::nullopt;
  }
  Route route;
  auto get = [&](const char* k) { return obj->count(k) ? (*obj)[k].scalar : std::string(); };
  route.listener = get("listener");
  route.pool = get("pool");
  route.client = get("client");
  route.backend = get("backend");
  route.fingerprint = get("fingerprint");
  if (obj->count("fallbacks")) route.fallbacks = (*obj)["fallbacks"].array;
  return route;
}

}  // namespace ringlb::it
