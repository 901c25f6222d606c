// Config helpers: enum spellings (the exact strings accepted in the TOML) and pool lookup.
#include "ringlb/config/config.h"

namespace ringlb::config {

const Pool* Config::find_pool(std::string_view name) const noexcept {
  for (const Pool& p : pools) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string_view to_string(LogFormat v) noexcept {
  switch (v) {
    case LogFormat::text: return "text";
    case LogFormat::json: return "json";
  }
  return "?";
}

std::string_view to_string(Datapath v) noexcept {
  switch (v) {
    case Datapath::automatic: return "auto";
    case Datapath::splice: return "splice";
    case Datapath::sockmap: return "sockmap";
  }
  return "?";
}

std::string_view to_string(ProxyProtocol v) noexcept {
  switch (v) {
    case ProxyProtocol::off: return "off";
    case ProxyProtocol::v1: return "v1";
    case ProxyProtocol::v2: return "v2";
  }
  return "?";
}

std::string_view to_string(HashMode v) noexcept {
  switch (v) {
    case HashMode::client_ip: return "client_ip";
    case HashMode::client_ip_port: return "client_ip_port";
  }
  return "?";
}

}  // namespace ringlb::config
