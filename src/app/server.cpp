// The server's lifecycle (see server.h).
#include "ringlb/app/server.h"

#include <errno.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "ringlb/admin/server.h"
#include "ringlb/app/control_stats.h"
#include "ringlb/app/datapath.h"
#include "ringlb/app/listener_sockets.h"
#include "ringlb/app/notify.h"
#include "ringlb/app/privileges.h"
#include "ringlb/app/reload.h"
#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/health/prober.h"
#include "ringlb/lb/snapshot_builder.h"
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::app {
namespace {

// One line saying what the process kept; and, without CAP_SYS_RESOURCE, one warning about
// the per-user pipe limit that then applies to the workers' pipes.
void log_dropped(const std::string& user, const DroppedPrivileges& d) {
  std::string kept;
  for (const std::string& c : d.kept) kept += (kept.empty() ? "" : ",") + c;
  log::info("privileges_dropped", {{"user", user}, {"uid", d.uid}, {"gid", d.gid},
                                   {"capabilities", kept.empty() ? "none" : kept}, {"no_new_privs", true}});
  for (const std::string& c : d.missing) {
    if (c == "cap_sys_resource") {
      log::warn("pipe_limit", {{"user", user}, {"detail", "no cap_sys_resource: after 1024 pipes this user's pipes "
                                                          "stay at 8 KiB; raise fs.pipe-user-pages-soft or start "
                                                          "with CAP_SYS_RESOURCE"}});
    } else {
      log::warn("capability_missing", {{"user", user}, {"capability", c}});
    }
  }
}

// How long the main thread sleeps between looks at signals and at the workers.
constexpr int kSignalPollMs = 100;

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
  auto bound = bind_listeners(config.listeners, workers);
  if (!bound) {
    log::error("startup_failed", {{"error", bound.error().message}});
    return 1;
  }
  std::vector<std::vector<worker::ListenerSocket>> sockets = std::move(*bound);
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
  // Everything that needs root is created above this line and before any thread starts: from
  // here on the process runs as global.user with only the capabilities drop_privileges() keeps.
  // The sockmap path needs none of them once loaded: holding the map fds is enough to insert.
  auto loaded_datapath = load_datapath(config, workers);
  if (!loaded_datapath) {
    log::error("startup_failed", {{"error", loaded_datapath.error().message}});
    return 1;
  }
  const std::unique_ptr<sockmap::Sockmap> sockmap = std::move(*loaded_datapath);
  if (!config.global.user.empty()) {
    auto dropped = drop_privileges(config.global.user);
    if (!dropped) {
      log::error("startup_failed", {{"error", dropped.error().message}});
      return 1;
    }
    log_dropped(config.global.user, *dropped);
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
                                                      config.global.copy_buffers, sockmap.get()));
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
    sources.sockmap_available = sockmap != nullptr;
    admin_api.serve(std::move(sources));  // does nothing when admin = ""
  }
  std::atomic<bool> stop_prober{false};
  std::thread prober_thread([&] { prober.run(stop_prober); });
  log::info("ready", {{"workers", workers}, {"listeners", config.listeners.size()}, {"nofile", nofile}});
  notify_ready(fmt::format("serving {} listeners with {} workers", config.listeners.size(), workers));

  ReloadTarget reload_target{config, store, {}, control, sockmap.get()};
  for (auto& wk : pool) reload_target.mailboxes.push_back(&wk->mailbox());
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
      notify_stopping(fmt::format("draining {} connections", shared.active_clients.load()));
    } else if (sig == SIGHUP && !draining) {
      if (access_log_file.valid()) reopen_access_log(config.global.access_log, access_log_file);
      notify_reloading("reloading " + config.path);
      const bool applied = reload(reload_target);
      notify_ready(applied ? fmt::format("serving {} listeners with {} workers (reloaded)", config.listeners.size(), workers)
                           : std::string("reload failed, the previous config keeps serving"));
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
