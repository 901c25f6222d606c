// BufferRing (see buffer_ring.h).
#include "ringlb/common/buffer_ring.h"

#include <errno.h>
#include <sys/mman.h>

namespace ringlb {

int BufferRing::init(io_uring* ring, uint16_t group, uint32_t count, uint32_t size) noexcept {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0 || size == 0) return -EINVAL;
  // Both areas are anonymous mappings: page-aligned as the kernel requires of the ring, and
  // the buffers' pages become resident only once the kernel first fills them.
  ring_bytes_ = count * sizeof(io_uring_buf);
  void* r = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) return -errno;
  buffer_bytes_ = static_cast<size_t>(count) * size;
  void* b = ::mmap(nullptr, buffer_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED) {
    const int err = errno;
    ::munmap(r, ring_bytes_);
    return -err;
  }
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(r);
  reg.ring_entries = count;
  reg.bgid = group;
  const int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc != 0) {
    ::munmap(b, buffer_bytes_);
    ::munmap(r, ring_bytes_);
    return rc;
  }
  ring_ = ring;
  br_ = static_cast<io_uring_buf_ring*>(r);
  buffers_ = static_cast<uint8_t*>(b);
  count_ = count;
  size_ = size;
  group_ = group;
  io_uring_buf_ring_init(br_);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br_, data(static_cast<uint16_t>(i)), size_, static_cast<uint16_t>(i),
                          io_uring_buf_ring_mask(count_), static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br_, static_cast<int>(count));
  return 0;
}

void BufferRing::recycle(uint16_t id) noexcept {
  io_uring_buf_ring_add(br_, data(id), size_, id, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
}

BufferRing::~BufferRing() {
  if (br_ == nullptr) return;
  io_uring_unregister_buf_ring(ring_, group_);
  ::munmap(buffers_, buffer_bytes_);
  ::munmap(br_, ring_bytes_);
}

}  // namespace ringlb
