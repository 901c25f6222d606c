// Dropping root after binding (global.user): setgroups, setgid, setuid under PR_SET_KEEPCAPS,
// then exactly the capabilities the running process still uses are restored to permitted and
// effective (inheritable and ambient stay empty), then PR_SET_NO_NEW_PRIVS. Main thread,
// before any other thread exists: capabilities are per thread and threads inherit them.
#pragma once

#include <string>
#include <vector>

#include "ringlb/common/result.h"

namespace ringlb::app {

struct DroppedPrivileges {
  unsigned uid = 0;
  unsigned gid = 0;
  std::vector<std::string> kept;     // capability names kept, e.g. "cap_net_bind_service"
  std::vector<std::string> missing;  // wanted but not held before the drop
};

// Capabilities kept after the drop, when held before it:
//  - CAP_NET_BIND_SERVICE: a reload may add a listener on a port < 1024;
//  - CAP_SYS_RESOURCE: exempts the workers' pipes from fs.pipe-user-pages-soft (without it,
//    after 1024 pipes an unprivileged user's pipes stay at 8 KiB and F_SETPIPE_SZ to 1 MiB
//    fails with EPERM).
// The sockmap path adds the capabilities its runtime map updates need here.
Result<DroppedPrivileges> drop_privileges(const std::string& user);

}  // namespace ringlb::app
