// `ringlb diff` output (see diff.h): a table per pool for people, one JSON object for tools.
// Shares are percent with 2 decimals; moved is a fraction with 6 in JSON, percent in text.
#include <fmt/format.h>

#include <algorithm>

#include "ringlb/app/diff.h"

namespace ringlb::app {
namespace {

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <class T, class F>
std::string json_or_null(const std::optional<T>& v, F render) {
  return v ? render(*v) : std::string("null");
}

std::string json_fraction(double v) { return fmt::format("{:.6f}", v); }
std::string json_opt_string(const std::optional<std::string>& v) { return json_or_null(v, json_string); }
std::string json_opt_uint(const std::optional<uint32_t>& v) {
  return json_or_null(v, [](uint32_t x) { return std::to_string(x); });
}
std::string json_old_new(const std::string& old_value, const std::string& new_value) {
  return fmt::format("{{\"old\":{},\"new\":{}}}", old_value, new_value);
}

std::string json_settings(const std::vector<SettingChange>& settings) {
  std::string out = "[";
  for (const SettingChange& s : settings) {
    if (out.size() > 1) out += ',';
    out += fmt::format("{{\"key\":{},\"old\":{},\"new\":{}}}", json_string(s.key), json_string(s.old_value),
                       json_string(s.new_value));
  }
  return out + "]";
}

std::string json_tier_of(const std::optional<uint32_t>& weight, bool backup) {
  return weight ? json_string(backup ? "backup" : "primary") : std::string("null");
}

// {"old":..,"new":..} for a tier's table_size or fingerprint.
std::string json_sizes(const TierDiff& t) {
  return json_old_new(json_opt_uint(t.table_size_old), json_opt_uint(t.table_size_new));
}
std::string json_fingerprints(const TierDiff& t) {
  return json_old_new(json_opt_string(t.fingerprint_old), json_opt_string(t.fingerprint_new));
}

std::string json_backend(const BackendDiff& b) {
  return fmt::format(
      "{{\"address\":{},\"weight_old\":{},\"weight_new\":{},\"share_old\":{:.2f},\"share_new\":{:.2f},"
      "\"change\":{},\"tier_old\":{},\"tier_new\":{}}}",
      json_string(b.address), json_opt_uint(b.weight_old), json_opt_uint(b.weight_new), b.share_old, b.share_new,
      json_string(b.change == DiffStatus::unchanged ? "" : to_string(b.change)),
      json_tier_of(b.weight_old, b.backup_old), json_tier_of(b.weight_new, b.backup_new));
}

std::string json_pool(const PoolDiff& p) {
  std::string backends;
  for (const BackendDiff& b : p.backends) backends += (backends.empty() ? "" : ",") + json_backend(b);
  std::string backup = "null";
  if (p.backup) {
    backup = fmt::format("{{\"moved\":{},\"table_size\":{},\"fingerprint\":{}}}",
                         json_or_null(p.backup->moved, json_fraction), json_sizes(*p.backup),
                         json_fingerprints(*p.backup));
  }
  return fmt::format(
      "{{\"name\":{},\"status\":{},\"moved\":{},\"table_size\":{},\"fingerprint\":{},\"backup\":{},"
      "\"settings\":{},\"backends\":[{}]}}",
      json_string(p.name), json_string(to_string(p.status)), json_or_null(p.primary.moved, json_fraction),
      json_sizes(p.primary), json_fingerprints(p.primary), backup, json_settings(p.settings), backends);
}

std::string json_listener(const ListenerDiff& l) {
  auto side = [](const std::string& v) { return v.empty() ? std::string("null") : json_string(v); };
  return fmt::format("{{\"name\":{},\"status\":{},\"bind\":{},\"pool\":{},\"moved\":{},\"settings\":{}}}",
                     json_string(l.name), json_string(to_string(l.status)),
                     json_old_new(side(l.bind_old), side(l.bind_new)), json_old_new(side(l.pool_old), side(l.pool_new)),
                     json_or_null(l.moved, json_fraction), json_settings(l.settings));
}

std::string format_json(const Diff& d) {
  std::string pools;
  for (const PoolDiff& p : d.pools) pools += (pools.empty() ? "" : ",") + json_pool(p);
  std::string listeners;
  for (const ListenerDiff& l : d.listeners) listeners += (listeners.empty() ? "" : ",") + json_listener(l);
  std::string reasons;
  for (const std::string& r : d.restart_reasons) reasons += (reasons.empty() ? "" : ",") + json_string(r);
  return fmt::format("{{\"same\":{},\"pools\":[{}],\"listeners\":[{}],\"global\":{},\"restart_reasons\":[{}]}}\n",
                     d.same() ? "true" : "false", pools, listeners, json_settings(d.global), reasons);
}

// --- text -----------------------------------------------------------------------------------

// "10.00%"; a nonzero share that rounds to zero stays visible as "<0.01%".
std::string percent(double fraction) {
  const double p = 100.0 * fraction;
  if (p > 0 && p < 0.005) return "<0.01%";
  return fmt::format("{:.2f}%", p);
}

template <class T>
std::string text_or_dash(const std::optional<T>& v) {
  return v ? fmt::format("{}", *v) : std::string("-");
}

std::string arrow(const std::string& a, const std::string& b) { return a == b ? a : a + " -> " + b; }

std::string settings_text(const std::vector<SettingChange>& settings) {
  std::string out;
  for (const SettingChange& s : settings) {
    out += fmt::format("{}{} {} -> {}", out.empty() ? "" : ", ", s.key, s.old_value.empty() ? "\"\"" : s.old_value,
                       s.new_value.empty() ? "\"\"" : s.new_value);
  }
  return out;
}

// `prefix` is "" for the primary tier and "backup " for the backup tier.
std::string tier_lines(const std::string& prefix, const TierDiff& t) {
  std::string out;
  if (t.moved) out += fmt::format("  {:<18} {} of clients\n", prefix + "moved", percent(*t.moved));
  out += fmt::format("  {:<18} {} -> {}\n", prefix + "table_size", text_or_dash(t.table_size_old),
                     text_or_dash(t.table_size_new));
  out += fmt::format("  {:<18} {} -> {}\n", prefix + "fingerprint", text_or_dash(t.fingerprint_old),
                     text_or_dash(t.fingerprint_new));
  return out;
}

// "primary", "backup", "primary -> backup"; one side only when the backend is on one side.
std::string tier_text(const BackendDiff& b) {
  auto name = [](bool backup) { return std::string(backup ? "backup" : "primary"); };
  if (!b.weight_old) return name(b.backup_new);
  if (!b.weight_new) return name(b.backup_old);
  return arrow(name(b.backup_old), name(b.backup_new));
}

std::string backend_table(const std::vector<BackendDiff>& backends) {
  const bool tiers = std::any_of(backends.begin(), backends.end(),
                                 [](const BackendDiff& b) { return b.backup_old || b.backup_new; });
  size_t width = std::string_view("backend").size();
  for (const BackendDiff& b : backends) width = std::max(width, b.address.size());
  auto line = [&](const std::string& address, const std::string& weight, const std::string& share,
                  const std::string& tier, const std::string& change) {
    std::string out = fmt::format("  {:<{}}  {:<13}  {:<18}", address, width, weight, share);
    if (tiers) out += fmt::format("  {:<17}", tier);
    out += "  " + change;
    while (out.back() == ' ') out.pop_back();
    return out + '\n';
  };
  std::string out = line("backend", "weight", "share", "tier", "change");
  for (const BackendDiff& b : backends) {
    const std::string weight = b.weight_old && b.weight_new
                                   ? arrow(std::to_string(*b.weight_old), std::to_string(*b.weight_new))
                                   : text_or_dash(b.weight_old) + " -> " + text_or_dash(b.weight_new);
    out += line(b.address, weight, fmt::format("{:6.2f}% -> {:6.2f}%", b.share_old, b.share_new), tier_text(b),
                b.change == DiffStatus::unchanged ? "" : std::string(to_string(b.change)));
  }
  return out;
}

std::string pool_text(const PoolDiff& p) {
  if (p.status == DiffStatus::unchanged) {
    return fmt::format("pool {}: unchanged (table_size {}, fingerprint {})\n", p.name,
                       text_or_dash(p.primary.table_size_new), text_or_dash(p.primary.fingerprint_new));
  }
  std::string out = fmt::format("pool {}: {}\n", p.name, to_string(p.status));
  out += tier_lines("", p.primary);
  if (p.backup) out += tier_lines("backup ", *p.backup);
  if (!p.settings.empty()) out += fmt::format("  {:<18} {}\n", "settings", settings_text(p.settings));
  return out + backend_table(p.backends);
}

std::string listener_text(const ListenerDiff& l) {
  auto sides = [](const std::string& a, const std::string& b) { return a.empty() ? b : b.empty() ? a : arrow(a, b); };
  const std::string bind = sides(l.bind_old, l.bind_new);
  const std::string pool = sides(l.pool_old, l.pool_new);
  std::string out = fmt::format("listener {}: {}, {}, pool {}", l.name, to_string(l.status), bind, pool);
  if (!l.settings.empty()) out += ", " + settings_text(l.settings);
  if (l.moved) out += fmt::format("; {} of its clients move", percent(*l.moved));
  return out + '\n';
}

std::string format_text(const Diff& d) {
  std::string out;
  for (const PoolDiff& p : d.pools) out += pool_text(p);
  for (const ListenerDiff& l : d.listeners) out += listener_text(l);
  if (!d.global.empty()) out += fmt::format("global: {}\n", settings_text(d.global));
  if (d.restart_reasons.empty()) {
    out += "reload: SIGHUP applies NEW\n";
  } else {
    out += "reload: SIGHUP refuses NEW (the old config keeps serving); restart for:";
    for (const std::string& r : d.restart_reasons) out += "\n  " + r;
    out += '\n';
  }
  out += d.same() ? "same: the configs route identically\n" : "different\n";
  return out;
}

}  // namespace

std::string format_diff(const Diff& diff, bool json) { return json ? format_json(diff) : format_text(diff); }

}  // namespace ringlb::app
