// What a reload cannot apply (see reload_rules.h).
#include "ringlb/app/reload_rules.h"

#include <fmt/format.h>

namespace ringlb::app {

std::vector<std::string> restart_reasons(const config::Config& running, const config::Config& next) {
  std::vector<std::string> out;
  // Both listener lists are sorted by name (config::load): merge them.
  size_t i = 0;
  size_t j = 0;
  while (i < running.listeners.size() || j < next.listeners.size()) {
    const config::Listener* a = i < running.listeners.size() ? &running.listeners[i] : nullptr;
    const config::Listener* b = j < next.listeners.size() ? &next.listeners[j] : nullptr;
    if (b == nullptr || (a != nullptr && a->name < b->name)) {
      out.push_back(fmt::format("listener {}: removed", a->name));
      ++i;
      continue;
    }
    if (a == nullptr || b->name < a->name) {
      out.push_back(fmt::format("listener {}: added", b->name));
      ++j;
      continue;
    }
    if (a->bind != b->bind) {
      out.push_back(fmt::format("listener {}: bind {} -> {}", a->name, a->bind.to_string(), b->bind.to_string()));
    }
    if (a->backlog != b->backlog) {
      out.push_back(fmt::format("listener {}: backlog {} -> {}", a->name, a->backlog, b->backlog));
    }
    if (a->datapath != b->datapath) {
      out.push_back(fmt::format("listener {}: datapath {} -> {}", a->name, config::to_string(a->datapath),
                                config::to_string(b->datapath)));
    }
    ++i;
    ++j;
  }
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

}  // namespace ringlb::app
