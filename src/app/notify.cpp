// sd_notify messages (see notify.h).
#include "ringlb/app/notify.h"

#include <fmt/format.h>
#include <time.h>

#include <string>

#if RINGLB_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace ringlb::app {
namespace {

void send(const std::string& message) noexcept {
#if RINGLB_HAVE_SYSTEMD
  // unset_environment = 0: later messages (reload, stop) go to the same socket.
  sd_notify(0, message.c_str());
#else
  (void)message;
#endif
}

// A STATUS= value is one line.
std::string status_line(std::string_view status) {
  std::string s(status);
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return "STATUS=" + s;
}

}  // namespace

void notify_ready(std::string_view status) noexcept {
  try {
    send("READY=1\n" + status_line(status));
  } catch (...) {  // an allocation failure loses one status line, nothing else
  }
}

void notify_reloading(std::string_view status) noexcept {
  try {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const unsigned long long usec =
        static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000;
    send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\n{}", usec, status_line(status)));
  } catch (...) {
  }
}

void notify_stopping(std::string_view status) noexcept {
  try {
    send("STOPPING=1\n" + status_line(status));
  } catch (...) {
  }
}

void notify_status(std::string_view status) noexcept {
  try {
    send(status_line(status));
  } catch (...) {
  }
}

}  // namespace ringlb::app
