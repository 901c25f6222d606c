// JSON rendering of /status (see status.h).
#include "ringlb/admin/status.h"

#include <fmt/format.h>

#include "ringlb/admin/backend_actions.h"
#include "ringlb/common/log.h"

namespace ringlb::admin {
namespace {

void key(std::string& out, std::string_view k) {
  log::append_json_string(out, k);
  out += ':';
}

void string_field(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  log::append_json_string(out, v);
  out += ',';
}

void number_field(std::string& out, std::string_view k, uint64_t v) {
  key(out, k);
  out += fmt::format("{},", v);
}

void bool_field(std::string& out, std::string_view k, bool v) {
  key(out, k);
  out += v ? "true," : "false,";
}

// Ends an object or array: replaces the trailing ',' of its last member with `close`, then
// adds the ',' that separates it from what follows (the outermost object takes it back).
void end(std::string& out, char close) {
  if (!out.empty() && out.back() == ',') out.pop_back();
  out += close;
  out += ',';
}

void render_backend(std::string& out, const lb::BackendView& b) {
  out += '{';
  string_field(out, "address", b.key);
  string_field(out, "health", b.up ? "up" : "down");
  string_field(out, "admin", admin_state(b));
  bool_field(out, "routable", b.available());
  number_field(out, "weight", b.weight);
  bool_field(out, "backup", b.backup);
  number_field(out, "max_connections", b.max_connections);
  number_field(out, "connections_active", b.counters->active.load(std::memory_order_relaxed));
  number_field(out, "connections_total", b.counters->connections_total.load(std::memory_order_relaxed));
  number_field(out, "connect_failures", b.counters->connect_failures.load(std::memory_order_relaxed));
  end(out, '}');
}

void render_pool(std::string& out, const lb::PoolView& pool) {
  out += '{';
  string_field(out, "name", pool.name);
  number_field(out, "primary_available", pool.primary_available);
  number_field(out, "backup_available", pool.backup_available);
  key(out, "backends");
  out += '[';
  for (const lb::BackendView& b : pool.backends) render_backend(out, b);
  end(out, ']');
  end(out, '}');
}

}  // namespace

std::string render_status(const lb::Snapshot& snap, const WorkerTotals& workers) {
  std::string out = "{";
  number_field(out, "generation", snap.generation);
  key(out, "connections");
  out += '{';
  number_field(out, "active", workers.active);
  number_field(out, "accepted", workers.accepted);
  number_field(out, "closed", workers.closed);
  end(out, '}');
  key(out, "listeners");
  out += '[';
  for (const lb::ListenerView& l : snap.listeners) {
    out += '{';
    string_field(out, "name", l.name);
    string_field(out, "bind", l.bind.to_string());
    string_field(out, "pool", snap.pools[l.pool].name);
    end(out, '}');
  }
  end(out, ']');
  key(out, "pools");
  out += '[';
  for (const lb::PoolView& pool : snap.pools) render_pool(out, pool);
  end(out, ']');
  end(out, '}');
  out.back() = '\n';  // the outermost object: no separator, a line end
  return out;
}

}  // namespace ringlb::admin
