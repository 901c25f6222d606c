// SourceMap: where each dotted key of a loaded config was written, so that checks made after
// parsing (validate.cpp) can still point an error at a line and column. Private to
// src/config; filled by the loader while it walks the TOML tree. Control plane only.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "ringlb/common/result.h"

namespace ringlb::config::detail {

struct Location {
  int line = 0;    // 1-based; 0 = the whole file (e.g. a missing top-level table)
  int column = 0;  // 1-based; 0 = unknown
};

class SourceMap {
 public:
  explicit SourceMap(std::string file) : file_(std::move(file)) {}

  const std::string& file() const noexcept { return file_; }

  // Keys are dotted paths as in Error::key: "pools.gw.health.rise", "pools.gw.backends[2]".
  // For a value the location is the value's first character; for a table its header.
  // A location with line 0 (toml++ knows none) is not recorded, so find() falls back to
  // the parent.
  void add(std::string key, Location where);
  // Whether `key` itself was written in the file (not just one of its ancestors).
  bool has(std::string_view key) const;

  // The location of `key`, or else of its nearest recorded ancestor
  // ("pools.gw.backends[2].weight" -> "pools.gw.backends[2]" -> "pools.gw.backends" ->
  // "pools.gw" -> "pools"), or else 0:0. A key left at its default therefore points at the
  // header of the table it would have been written in.
  Location find(std::string_view key) const;

  // An Error about `key`, located with find().
  Error error(std::string key, std::string message) const;
  // An Error at an explicit location.
  Error error_at(Location where, std::string key, std::string message) const;

 private:
  std::string file_;
  std::unordered_map<std::string, Location> where_;
};

// Appends a name to a dotted key path. Names that are not TOML bare keys (only possible in
// error messages about such names) are quoted, so the path stays unambiguous.
std::string join_key(std::string_view parent, std::string_view name);

}  // namespace ringlb::config::detail
