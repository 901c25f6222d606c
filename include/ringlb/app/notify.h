// The systemd readiness protocol (sd_notify(3), Type=notify): READY=1 once listeners are bound
// and the first health round is done, RELOADING=1 (with MONOTONIC_USEC, which systemd >= 253
// requires to match a reload to its READY=1) then READY=1 around a SIGHUP, STOPPING=1 on
// drain, and STATUS= lines. A no-op without $NOTIFY_SOCKET, or when built without libsystemd
// (meson: the dependency is optional). Main thread.
#pragma once

#include <string_view>

namespace ringlb::app {

void notify_ready(std::string_view status) noexcept;
void notify_reloading(std::string_view status) noexcept;
void notify_stopping(std::string_view status) noexcept;
void notify_status(std::string_view status) noexcept;

}  // namespace ringlb::app
