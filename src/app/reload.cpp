// SIGHUP reload (see reload.h).
#include "ringlb/app/reload.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "ringlb/app/datapath.h"
#include "ringlb/app/listener_sockets.h"
#include "ringlb/app/reload_rules.h"
#include "ringlb/common/clock.h"
#include "ringlb/common/log.h"
#include "ringlb/config/load.h"
#include "ringlb/lb/snapshot_builder.h"

namespace ringlb::app {
namespace {

// How long the main thread waits for every worker to take its listener changes. A worker
// takes them in its next ring batch (microseconds when idle); one stuck this long is busy
// with something pathological, and the reload is still applied (it takes them later).
constexpr uint64_t kApplyWaitMs = 2000;

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

bool fail(ReloadTarget& t, const std::string& error, const std::string& detail = "") {
  t.control.reloads_failed.fetch_add(1);
  if (detail.empty()) {
    log::error("reload_failed", {{"error", error}});
  } else {
    log::error("reload_failed", {{"error", error}, {"changes", detail}});
  }
  return false;
}

}  // namespace

bool reload(ReloadTarget& t) {
  const uint64_t started_ms = monotonic_ms();
  auto next = config::load_file(t.config.path);
  if (!next) return fail(t, next.error().to_string());
  if (const auto why = restart_reasons(t.config, *next); !why.empty()) {
    std::string changes;
    for (const std::string& w : why) changes += (changes.empty() ? "" : "; ") + w;
    return fail(t, "workers, user or copy_buffers changed: those need a restart; the old config keeps serving",
                changes);
  }
  if (auto st = check_datapaths(*next, t.sockmap); !st) return fail(t, st.error().message);

  // Bind first: nothing is published until every added listener has all its sockets.
  const ListenerPlan plan = plan_listeners(t.config, *next);
  const uint32_t workers = static_cast<uint32_t>(t.mailboxes.size());
  auto sockets = bind_listeners(plan.added, workers);
  if (!sockets) return fail(t, sockets.error().message);

  // Publish, then post: a worker arms an added socket only after the snapshot naming it is
  // out, and a removed listener's accepts that race the post find no listener and are closed.
  // Built under the store's write lock from the snapshot current at that moment, so a health
  // or admin change published meanwhile is carried over rather than lost.
  const auto published =
      t.store.rebuild([&](const lb::Snapshot& current) { return lb::build_snapshot(*next, &current); });
  std::vector<uint64_t> seq(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    seq[w] = t.mailboxes[w]->post(worker::ListenerChange{plan.removed, std::move((*sockets)[w])});
  }
  const uint64_t deadline = monotonic_ms() + kApplyWaitMs;
  for (uint32_t w = 0; w < workers; ++w) {
    while (t.mailboxes[w]->applied() < seq[w] && monotonic_ms() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (t.mailboxes[w]->applied() < seq[w]) {
      log::warn("reload_slow", {{"worker", w}, {"waited_ms", kApplyWaitMs},
                                {"detail", "the worker applies the listener changes at its next ring batch"}});
    }
  }
  std::vector<std::string> added;
  for (const config::Listener& l : plan.added) {
    added.push_back(l.name);
    log::info("listening", {{"listener", l.name}, {"bind", l.bind.to_string()}, {"pool", l.pool},
                            {"workers", workers}});
  }
  for (const std::string& name : plan.removed) log::info("listener_closed", {{"listener", name}});
  t.config = std::move(*next);
  t.control.reloads_ok.fetch_add(1);
  log::info("reloaded", {{"config", t.config.path}, {"generation", published->generation},
                         {"listeners_added", joined(added)}, {"listeners_removed", joined(plan.removed)},
                         {"took_ms", monotonic_ms() - started_ms}});
  return true;
}

}  // namespace ringlb::app
