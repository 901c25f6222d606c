// Parsing the admin API's mutation targets, "/pools/NAME/backends/ADDR/ACTION". ADDR is written
// as in the config ("127.0.0.1:8080", "[::1]:8080"); any segment may arrive percent-encoded
// (curl and browsers encode IPv6 brackets as %5B %5D). Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringlb/common/address.h"

namespace ringlb::admin {

enum class BackendAction : uint8_t { drain, enable, disable };
std::string_view action_name(BackendAction a) noexcept;

struct BackendRequest {
  std::string pool;
  Address backend;
  BackendAction action = BackendAction::drain;
};

struct ParsedPath {
  enum class Status : uint8_t { ok, not_found, bad_request };
  Status status = Status::not_found;
  std::string error;        // why, when not ok
  BackendRequest request;   // when ok
};

// `target` is the raw request target (path and optional "?query", which is ignored). Shapes
// other than the one above (or an unknown ACTION) are not_found; a bad %XX escape, an empty
// pool or an ADDR that is not an address are bad_request.
ParsedPath parse_backend_path(std::string_view target);

// Decodes %XX escapes (nothing else: '+' stays '+'); nullopt on a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace ringlb::admin
