// The server's lifecycle (see server.h).
#include "ringlb/app/server.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "ringlb/admin/server.h"
#include "ringlb/app/control_stats.h"
#include "ringlb/app/reload_rules.h"
#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/config/load.h"
#include "ringlb/health/prober.h"
#include "ringlb/lb/snapshot_builder.h"
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::app {
namespace {

// How long the main thread sleeps between looks at signals and at the workers.
constexpr int kSignalPollMs = 100;

Status check_datapaths(const config::Config& config) {
  for (const config::Listener& l : config.listeners) {
    if (l.datapath == config::Datapath::sockmap) {
      return Error{fmt::format("listener {}: datapath \"sockmap\" is not available in this build "
                               "(the sockmap path is not implemented yet); use \"auto\" or \"splice\"",
                               l.name)};
    }
  }
  return Ok{};
}

// setgroups, setgid, setuid, then no_new_privs: after this the process cannot regain root.
Status drop_privileges(const std::string& user) {
  if (user.empty()) return Ok{};
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Error{fmt::format("user '{}' not found", user)};
  }
  if (setgroups(0, nullptr) != 0) return Error{fmt::format("setgroups: {}", strerror(errno))};
  if (setgid(pw.pw_gid) != 0) return Error{fmt::format("setgid {}: {}", pw.pw_gid, strerror(errno))};
  if (setuid(pw.pw_uid) != 0) return Error{fmt::format("setuid {}: {}", pw.pw_uid, strerror(errno))};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error{fmt::format("no_new_privs: {}", strerror(errno))};
  return Ok{};
}

// The access log file: append-only, created 0640 if missing. Opened before privileges drop, so
// a root-started ringlb can write under /var/log.
Result<Fd> open_access_log(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Error{fmt::format("access_log {}: {}", path, strerror(errno))};
  return Fd(fd);
}

// SIGHUP (logrotate moved the file away): a new file onto the same descriptor number, so the
// workers, which write to that number, never see it closed. A failure keeps the old file.
void reopen_access_log(const std::string& path, const Fd& current) {
  auto next = open_access_log(path);
  if (!next || ::dup3(next->get(), current.get(), O_CLOEXEC) < 0) {
    log::warn("access_log_reopen_failed", {{"error", next ? std::string(strerror(errno)) : next.error().message}});
  }
}

}  // namespace

int run_server(config::Config config) {
  log::set_format(config.global.log_format == config::LogFormat::json ? log::Format::json : log::Format::text);
  if (auto st = check_datapaths(config); !st) {
    log::error("startup_failed", {{"error", st.error().message}});
    return 1;
  }
  log::info("datapath", {{"selected", "splice"}, {"reason", "sockmap path not built"}});
  const rlim_t nofile = net::raise_nofile_limit();

  // Signals are handled by the main thread with sigtimedwait; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // inline splice(2) into a reset socket raises SIGPIPE

  lb::SnapshotStore store(lb::build_snapshot(config, nullptr));
  const uint32_t workers = config.global.workers != 0
                               ? config.global.workers
                               : static_cast<uint32_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));

  // Bind everything before anything else can fail half-way: one socket per worker per listener.
  std::vector<std::vector<worker::ListenerSocket>> sockets(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    for (const config::Listener& l : config.listeners) {
      auto fd = net::open_listener(l.bind, l.backlog);
      if (!fd) {
        log::error("startup_failed", {{"listener", l.name}, {"error", fd.error().message}});
        return 1;
      }
      sockets[w].push_back(worker::ListenerSocket{l.name, std::move(*fd)});
    }
  }
  // The admin API binds with the listeners (before privileges drop); a failure is a startup error.
  admin::AdminServer admin_api;
  if (!config.global.admin.empty()) {
    auto address = parse_address(config.global.admin);  // validated by config::load
    Status st = address ? admin_api.bind(*address) : Status{address.error()};
    if (!st) {
      log::error("startup_failed", {{"error", st.error().message}});
      return 1;
    }
    log::info("admin_listening", {{"admin", config.global.admin}});
  }
  Fd access_log_file;  // outlives the workers that write to it
  if (!config.global.access_log.empty() && config.global.access_log != "-") {
    auto f = open_access_log(config.global.access_log);
    if (!f) {
      log::error("startup_failed", {{"error", f.error().message}});
      return 1;
    }
    access_log_file = std::move(*f);
  }
  for (const config::Listener& l : config.listeners) {
    log::info("listening", {{"listener", l.name}, {"bind", l.bind.to_string()}, {"pool", l.pool},
                            {"workers", workers}});
  }
  if (auto st = drop_privileges(config.global.user); !st) {
    log::error("startup_failed", {{"error", st.error().message}});
    return 1;
  }

  health::Prober prober(store);
  if (const int rc = prober.init(); rc != 0) {
    log::error("startup_failed", {{"error", fmt::format("io_uring for the prober: {}", strerror(-rc))}});
    return 1;
  }
  prober.first_round();

  worker::Shared shared(store);
  shared.access_log_fd = config.global.access_log == "-" ? STDERR_FILENO : access_log_file.get();
  shared.access_log_json = config.global.access_log_format == config::LogFormat::json;
  // Idle pipes per worker: enough to absorb bursts without re-creating pipes, small enough that
  // idle pipes never crowd out client sockets (2 fds each): 1/64 of the fd budget, 4..256.
  const size_t max_idle_pipes = std::clamp<size_t>(nofile / (64 * workers), 4, 256);
  std::vector<std::unique_ptr<worker::Worker>> pool;
  std::vector<std::thread> threads;
  std::atomic<uint32_t> running{0};
  for (uint32_t w = 0; w < workers; ++w) {
    pool.push_back(std::make_unique<worker::Worker>(w, shared, std::move(sockets[w]), max_idle_pipes,
                                                      config.global.copy_buffers));
  }
  for (auto& wk : pool) {
    std::promise<int> started;
    auto result = started.get_future();
    running.fetch_add(1);
    threads.emplace_back([&wk, &running, &started] {
      const int rc = wk->init();
      started.set_value(rc);
      if (rc == 0) wk->run();
      running.fetch_sub(1);
    });
    if (const int rc = result.get(); rc != 0) {
      log::error("startup_failed", {{"error", fmt::format("io_uring setup: {} (is io_uring disabled? "
                                                          "see kernel.io_uring_disabled)", strerror(-rc))}});
      shared.draining = true;
      for (auto& t : threads) t.join();
      return 1;
    }
  }
  ControlStats control;
  {
    admin::Sources sources;
    sources.store = &store;
    for (const auto& wk : pool) sources.workers.push_back(&wk->stats());
    sources.reloads = [&control] {
      return admin::ReloadTotals{control.reloads_ok.load(std::memory_order_relaxed),
                                 control.reloads_failed.load(std::memory_order_relaxed)};
    };
    admin_api.serve(std::move(sources));  // does nothing when admin = ""
  }
  std::atomic<bool> stop_prober{false};
  std::thread prober_thread([&] { prober.run(stop_prober); });
  log::info("ready", {{"workers", workers}, {"listeners", config.listeners.size()}, {"nofile", nofile}});

  bool draining = false;
  uint64_t drain_deadline = 0;
  const timespec poll_interval{0, kSignalPollMs * 1000000L};
  for (;;) {
    const int sig = sigtimedwait(&signals, nullptr, &poll_interval);
    if (sig == SIGTERM || sig == SIGINT) {
      if (draining) {
        log::info("stopped", {{"reason", "second signal"}});
        std::_Exit(0);
      }
      draining = true;
      drain_deadline = monotonic_ms() + static_cast<uint64_t>(config.global.drain_timeout.count());
      log::info("draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                             {"connections", shared.active_clients.load()},
                             {"timeout", format_duration(config.global.drain_timeout)}});
      shared.draining = true;
    } else if (sig == SIGHUP && !draining) {
      if (access_log_file.valid()) reopen_access_log(config.global.access_log, access_log_file);
      auto next = config::load_file(config.path);
      if (!next) {
        control.reloads_failed.fetch_add(1);
        log::error("reload_failed", {{"error", next.error().to_string()}});
      } else if (const auto why = restart_reasons(config, *next); !why.empty()) {
        std::string changes;
        for (const std::string& w : why) changes += (changes.empty() ? "" : "; ") + w;
        control.reloads_failed.fetch_add(1);
        log::error("reload_failed", {{"error", "listeners, workers or user changed: this version needs a restart "
                                               "for those; the old config keeps serving"},
                                     {"changes", changes}});
      } else if (auto st = check_datapaths(*next); !st) {
        control.reloads_failed.fetch_add(1);
        log::error("reload_failed", {{"error", st.error().message}});
      } else {
        const auto published =
            store.rebuild([&](const lb::Snapshot& current) { return lb::build_snapshot(*next, &current); });
        config = std::move(*next);
        control.reloads_ok.fetch_add(1);
        log::info("reloaded", {{"config", config.path}, {"generation", published->generation}});
      }
    }
    if (draining) {
      if (running.load() == 0) break;
      if (!shared.close_all.load() && monotonic_ms() >= drain_deadline) {
        log::info("drain_timeout", {{"connections", shared.active_clients.load()}});
        shared.close_all = true;
      }
    } else if (running.load() != static_cast<uint32_t>(threads.size())) {
      log::error("worker_exited", {});  // cannot happen without a drain; do not keep half a balancer
      shared.draining = true;
      shared.close_all = true;
      draining = true;
    }
  }
  for (auto& t : threads) t.join();
  admin_api.stop();  // before the workers whose counters it reads are destroyed
  stop_prober = true;
  prober_thread.join();
  log::info("stopped", {{"reason", "drained"}});
  return 0;
}

}  // namespace ringlb::app
