// Privilege drop (see privileges.h). libcap for the capability sets: raw capset(2) would need
// the versioned two-word layout by hand for capabilities above 31.
#include "ringlb/app/privileges.h"

#include <errno.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>

namespace ringlb::app {
namespace {

constexpr cap_value_t kKeep[] = {CAP_NET_BIND_SERVICE, CAP_SYS_RESOURCE};

struct CapFree {
  void operator()(void* p) const noexcept { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

std::string cap_name(cap_value_t c) {
  std::unique_ptr<char, CapFree> name(cap_to_name(c));
  return name ? std::string(name.get()) : fmt::format("cap_{}", static_cast<int>(c));
}

Error sys_error(const char* what) { return Error{fmt::format("{}: {}", what, strerror(errno))}; }

}  // namespace

Result<DroppedPrivileges> drop_privileges(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return Error{fmt::format("user '{}' not found", user)};
  }
  DroppedPrivileges out;
  out.uid = pw.pw_uid;
  out.gid = pw.pw_gid;

  // Which of the wanted capabilities this process holds now (root may lack some: a container's
  // bounding set, or CAP_SYS_RESOURCE on this development VM).
  CapPtr now(cap_get_proc());
  if (!now) return sys_error("cap_get_proc");
  std::vector<cap_value_t> keep;
  for (cap_value_t c : kKeep) {
    cap_flag_value_t held = CAP_CLEAR;
    if (cap_get_flag(now.get(), c, CAP_PERMITTED, &held) == 0 && held == CAP_SET) {
      keep.push_back(c);
      out.kept.push_back(cap_name(c));
    } else {
      out.missing.push_back(cap_name(c));
    }
  }

  // KEEPCAPS: setuid from 0 keeps the permitted set (effective is cleared either way).
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return sys_error("PR_SET_KEEPCAPS");
  if (setgroups(0, nullptr) != 0) return sys_error("setgroups");
  if (setgid(pw.pw_gid) != 0) return Error{fmt::format("setgid {}: {}", pw.pw_gid, strerror(errno))};
  if (setuid(pw.pw_uid) != 0) return Error{fmt::format("setuid {}: {}", pw.pw_uid, strerror(errno))};

  CapPtr want(cap_init());  // all three sets empty
  if (!want) return sys_error("cap_init");
  if (!keep.empty() &&
      (cap_set_flag(want.get(), CAP_PERMITTED, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0 ||
       cap_set_flag(want.get(), CAP_EFFECTIVE, static_cast<int>(keep.size()), keep.data(), CAP_SET) != 0)) {
    return sys_error("cap_set_flag");
  }
  if (cap_set_proc(want.get()) != 0) return sys_error("capset");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return sys_error("PR_SET_KEEPCAPS");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_error("PR_SET_NO_NEW_PRIVS");
  return out;
}

}  // namespace ringlb::app
