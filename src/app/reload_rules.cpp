// What a reload cannot apply, and which listener sockets it opens and closes (see reload_rules.h).
#include "ringlb/app/reload_rules.h"

#include <fmt/format.h>

namespace ringlb::app {

std::vector<std::string> restart_reasons(const config::Config& running, const config::Config& next) {
  std::vector<std::string> out;
  if (running.global.workers != next.global.workers) {
    out.push_back(fmt::format("global.workers: {} -> {}", running.global.workers, next.global.workers));
  }
  if (running.global.copy_buffers != next.global.copy_buffers) {
    out.push_back(fmt::format("global.copy_buffers: {} -> {}", running.global.copy_buffers, next.global.copy_buffers));
  }
  // The workers hold the access log's descriptor and format from the start; SIGHUP reopens the
  // same path (for logrotate) but cannot move it.
  if (running.global.access_log != next.global.access_log ||
      running.global.access_log_format != next.global.access_log_format) {
    out.push_back(fmt::format("global.access_log: \"{}\" ({}) -> \"{}\" ({})", running.global.access_log,
                              config::to_string(running.global.access_log_format), next.global.access_log,
                              config::to_string(next.global.access_log_format)));
  }
  if (running.global.user != next.global.user) {
    out.push_back(fmt::format("global.user: \"{}\" -> \"{}\"", running.global.user, next.global.user));
  }
  return out;
}

ListenerPlan plan_listeners(const config::Config& running, const config::Config& next) {
  ListenerPlan plan;
  // Both listener lists are sorted by name (config::load): merge them.
  size_t i = 0;
  size_t j = 0;
  while (i < running.listeners.size() || j < next.listeners.size()) {
    const config::Listener* a = i < running.listeners.size() ? &running.listeners[i] : nullptr;
    const config::Listener* b = j < next.listeners.size() ? &next.listeners[j] : nullptr;
    if (b == nullptr || (a != nullptr && a->name < b->name)) {
      plan.removed.push_back(a->name);
      ++i;
    } else if (a == nullptr || b->name < a->name) {
      plan.added.push_back(*b);
      ++j;
    } else {
      if (a->bind != b->bind) {
        plan.removed.push_back(a->name);
        plan.added.push_back(*b);
      }
      ++i;
      ++j;
    }
  }
  return plan;
}

}  // namespace ringlb::app
