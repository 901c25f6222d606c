// user_data encoding: every field survives the round trip; generations wrap at 24 bits.
#include "ringlb/worker/user_data.h"

#include <gtest/gtest.h>

namespace ringlb::worker {
namespace {

TEST(UserData, RoundTrip) {
  for (Op op : {Op::accept, Op::connect, Op::poll_b2c_out, Op::cancel}) {
    for (uint32_t slot : {0u, 1u, 1023u, 0xFFFFFFFEu}) {
      for (uint32_t gen : {0u, 1u, 0xABCDEFu, kGenerationMask}) {
        const UserData d = decode(encode(op, slot, gen));
        EXPECT_EQ(d.op, op);
        EXPECT_EQ(d.slot, slot);
        EXPECT_EQ(d.generation, gen);
      }
    }
  }
}

TEST(UserData, GenerationIsTruncatedTo24Bits) {
  EXPECT_EQ(decode(encode(Op::connect, 5, 0x1000001)).generation, 1u);
}

}  // namespace
}  // namespace ringlb::worker
