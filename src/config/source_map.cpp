// SourceMap: dotted key path -> line:column of the value or table header (see source_map.h).
#include "source_map.h"

#include <fmt/format.h>

#include <algorithm>

namespace ringlb::config::detail {
namespace {

bool is_bare_key(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

}  // namespace

void SourceMap::add(std::string key, Location where) {
  if (where.line > 0 || key.empty()) where_[std::move(key)] = where;
}

bool SourceMap::has(std::string_view key) const { return where_.contains(std::string(key)); }

Location SourceMap::find(std::string_view key) const {
  std::string probe(key);
  while (!probe.empty()) {
    if (auto it = where_.find(probe); it != where_.end()) return it->second;
    // Strip the last ".name" or "[index]". Quoted names cannot contain a recorded dot-path
    // (the loader rejects such names before recording anything under them).
    const size_t cut = probe.find_last_of(".[");
    probe.resize(cut == std::string::npos ? 0 : cut);
  }
  return {};
}

Error SourceMap::error(std::string key, std::string message) const {
  const Location where = find(key);  // before `key` is moved from
  return error_at(where, std::move(key), std::move(message));
}

Error SourceMap::error_at(Location where, std::string key, std::string message) const {
  return Error{std::move(message), file_, where.line, where.column, std::move(key)};
}

std::string join_key(std::string_view parent, std::string_view name) {
  std::string out(parent);
  if (!out.empty()) out += '.';
  if (is_bare_key(name)) {
    out += name;
  } else {
    out += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out;
}

}  // namespace ringlb::config::detail
