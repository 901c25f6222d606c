// The sockmap path in a build without the meson `bpf` feature (no clang, bpftool or libbpf at
// build time): load() says so, and "auto" listeners run on the splice path.
#include "ringlb/sockmap/sockmap.h"

#include <errno.h>

namespace ringlb::sockmap {

struct Sockmap::Impl {};

Sockmap::Sockmap(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Sockmap::~Sockmap() = default;

Result<std::unique_ptr<Sockmap>> Sockmap::load(uint32_t, uint32_t) {
  return Error{"this build has no sockmap path (built without the meson 'bpf' feature: clang, bpftool and "
               "libbpf-dev were missing)"};
}

int Sockmap::promote(int, uint64_t, int, uint64_t, uint32_t, uint32_t, uint32_t, uint32_t) noexcept {
  return -EOPNOTSUPP;
}
void Sockmap::forget(uint64_t, uint64_t) noexcept {}
int Sockmap::read_state(uint64_t, DirState&) const noexcept { return -EOPNOTSUPP; }
int Sockmap::write_control(uint64_t, const DirControl&) noexcept { return -EOPNOTSUPP; }
void Sockmap::drain_notices(uint32_t, void (*)(void*, const Notice&), void*) noexcept {}
uint64_t Sockmap::notices_lost(uint32_t) const noexcept { return 0; }
int Sockmap::notice_fd(uint32_t) const noexcept { return -1; }

}  // namespace ringlb::sockmap
