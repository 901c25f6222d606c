// Binding listeners (see listener_sockets.h).
#include "ringlb/app/listener_sockets.h"

#include <fmt/format.h>

#include "ringlb/net/socket.h"

namespace ringlb::app {

Result<std::vector<std::vector<worker::ListenerSocket>>> bind_listeners(
    const std::vector<config::Listener>& listeners, uint32_t workers) {
  std::vector<std::vector<worker::ListenerSocket>> sockets(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    for (const config::Listener& l : listeners) {
      auto fd = net::open_listener(l.bind, l.backlog);
      if (!fd) return Error{fmt::format("listener {}: {}", l.name, fd.error().message)};
      sockets[w].push_back(worker::ListenerSocket{l.name, std::move(*fd), l.backlog});
    }
  }
  return sockets;
}

}  // namespace ringlb::app
