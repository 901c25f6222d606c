// BufferRing: an owned io_uring provided-buffer ring (kernel 5.19+, registered by hand because
// liburing 2.3 lacks io_uring_setup_buf_ring). A RECV with IOSQE_BUFFER_SELECT takes a buffer
// only when bytes arrive, so an idle connection holds none; the owner hands each buffer back
// with recycle() once it is done with it. Owned by the ring's thread; not thread-safe.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>

namespace ringlb {

class BufferRing {
 public:
  BufferRing() noexcept = default;
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  // Maps `count` buffers of `size` bytes (count a power of two, at most 32768) and registers
  // them as buffer group `group` of `ring`, all available. Returns 0 or -errno; -EINVAL on a
  // kernel without buffer rings. Call once, from the ring's thread.
  int init(io_uring* ring, uint16_t group, uint32_t count, uint32_t size) noexcept;

  bool valid() const noexcept { return br_ != nullptr; }
  uint16_t group() const noexcept { return group_; }
  uint32_t buffer_size() const noexcept { return size_; }
  uint8_t* data(uint16_t id) const noexcept { return buffers_ + static_cast<size_t>(id) * size_; }
  // Makes buffer `id` available to the kernel again. Each id is recycled once per use.
  void recycle(uint16_t id) noexcept;

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  uint8_t* buffers_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t buffer_bytes_ = 0;
  uint32_t count_ = 0;
  uint32_t size_ = 0;
  uint16_t group_ = 0;
};

}  // namespace ringlb
