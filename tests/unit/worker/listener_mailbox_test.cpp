// ListenerMailbox: posts accumulate in order until the worker takes them, take() reports the
// sequence it covers, and each post makes the eventfd readable (what the worker's ring waits on).
#include "ringlb/worker/listener_mailbox.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ringlb::worker {
namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(ListenerMailbox, PostsAccumulateUntilTakenWithTheirSequence) {
  ListenerMailbox box;
  ASSERT_TRUE(box.init());
  EXPECT_FALSE(readable(box.eventfd()));

  ListenerChange first;
  first.removed = {"old"};
  first.added.push_back(ListenerSocket{"new", Fd(::socket(AF_INET, SOCK_STREAM, 0)), 128});
  EXPECT_EQ(box.post(std::move(first)), 1u);
  EXPECT_EQ(box.post(ListenerChange{{"other"}, {}}), 2u);
  EXPECT_TRUE(readable(box.eventfd()));
  EXPECT_EQ(box.posted(), 2u);
  EXPECT_EQ(box.applied(), 0u);

  uint64_t seq = 0;
  ListenerChange got = box.take(&seq);
  EXPECT_EQ(seq, 2u);
  EXPECT_EQ(got.removed, (std::vector<std::string>{"old", "other"}));
  ASSERT_EQ(got.added.size(), 1u);
  EXPECT_EQ(got.added[0].name, "new");
  EXPECT_TRUE(got.added[0].fd.valid());
  EXPECT_EQ(got.added[0].backlog, 128u);
  box.mark_applied(seq);
  EXPECT_EQ(box.applied(), 2u);

  ListenerChange empty = box.take(&seq);
  EXPECT_TRUE(empty.removed.empty() && empty.added.empty());
}

}  // namespace
}  // namespace ringlb::worker
