// Admin mutation targets (see request_path.h).
#include "ringlb/admin/request_path.h"

#include <array>
#include <vector>

namespace ringlb::admin {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ParsedPath fail(ParsedPath::Status status, std::string why) {
  ParsedPath p;
  p.status = status;
  p.error = std::move(why);
  return p;
}

std::optional<BackendAction> parse_action(std::string_view s) noexcept {
  if (s == "drain") return BackendAction::drain;
  if (s == "enable") return BackendAction::enable;
  if (s == "disable") return BackendAction::disable;
  return std::nullopt;
}

}  // namespace

std::string_view action_name(BackendAction a) noexcept {
  switch (a) {
    case BackendAction::drain: return "drain";
    case BackendAction::enable: return "enable";
    case BackendAction::disable: return "disable";
  }
  return "drain";
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;  // needs two more characters
    const int hi = hex_value(text[i + 1]);
    const int lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

ParsedPath parse_backend_path(std::string_view target) {
  if (const size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  // Split on '/' before decoding, so an encoded "%2F" stays inside its segment.
  std::vector<std::string_view> raw;
  if (target.empty() || target.front() != '/') return fail(ParsedPath::Status::not_found, "no such endpoint");
  target.remove_prefix(1);
  while (true) {
    const size_t slash = target.find('/');
    raw.push_back(target.substr(0, slash));
    if (slash == std::string_view::npos) break;
    target.remove_prefix(slash + 1);
  }
  if (raw.size() != 5 || raw[0] != "pools" || raw[2] != "backends") {
    return fail(ParsedPath::Status::not_found, "no such endpoint: POST /pools/NAME/backends/ADDR/drain|enable|disable");
  }
  std::array<std::string, 5> seg;
  for (size_t i = 0; i < raw.size(); ++i) {
    auto decoded = percent_decode(raw[i]);
    if (!decoded) return fail(ParsedPath::Status::bad_request, "malformed percent-encoding in the path");
    seg[i] = std::move(*decoded);
  }
  const auto action = parse_action(seg[4]);
  if (!action) return fail(ParsedPath::Status::not_found, "unknown action '" + seg[4] + "': drain, enable or disable");
  if (seg[1].empty()) return fail(ParsedPath::Status::bad_request, "empty pool name");
  auto address = parse_address(seg[3]);
  if (!address) return fail(ParsedPath::Status::bad_request, "backend '" + seg[3] + "': " + address.error().message);
  ParsedPath p;
  p.status = ParsedPath::Status::ok;
  p.request = BackendRequest{std::move(seg[1]), *address, *action};
  return p;
}

}  // namespace ringlb::admin
