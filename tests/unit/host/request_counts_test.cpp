// The per-queue request counts: buckets by size, bytes, and the summary line the daemon
// logs at queue stop (what docs/benchmarks.md's request-size tables are read from).
#include "fuse/request_counts.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>

namespace vfs::host {
namespace {

TEST(RequestCounts, BucketsArePowersOfTwoFrom4KiBTo1MiB) {
    EXPECT_EQ(RequestCounts::bucket_of(0), 0u);
    EXPECT_EQ(RequestCounts::bucket_of(4096), 0u);
    EXPECT_EQ(RequestCounts::bucket_of(4097), 1u);
    EXPECT_EQ(RequestCounts::bucket_of(128u << 10), 5u);
    EXPECT_EQ(RequestCounts::bucket_of((128u << 10) + 1), 6u);
    EXPECT_EQ(RequestCounts::bucket_of(1u << 20), 8u);
    EXPECT_EQ(RequestCounts::bucket_of(UINT32_MAX), 8u);  // the last bucket holds the rest
}

TEST(RequestCounts, CountsOpcodesAndDataSizes) {
    RequestCounts c;
    for (int i = 0; i < 3; ++i)
        c.add(FUSE_READ, 128u << 10);
    c.add(FUSE_READ, 4096);
    c.add(FUSE_WRITE, 1u << 20);
    c.add(FUSE_LOOKUP, 12345);  // a size on another opcode means nothing
    c.add(4096, 0);             // CUSE_INIT: beyond the table
    EXPECT_EQ(c.ops(FUSE_READ), 4u);
    EXPECT_EQ(c.sized(FUSE_READ, 5), 3u);
    EXPECT_EQ(c.sized(FUSE_READ, 0), 1u);
    EXPECT_EQ(c.bytes(FUSE_READ), 3u * (128u << 10) + 4096);
    EXPECT_EQ(c.sized(FUSE_WRITE, 8), 1u);
    EXPECT_EQ(c.bytes(FUSE_WRITE), 1u << 20);
    EXPECT_EQ(c.ops(FUSE_LOOKUP), 1u);
    EXPECT_EQ(c.bytes(FUSE_LOOKUP), 0u);
    EXPECT_EQ(c.sized(FUSE_LOOKUP, 0), 0u);
    EXPECT_EQ(c.ops(4096), 1u);
    EXPECT_EQ(c.summary(),
              "LOOKUP 1, READ 4 [4K:1 128K:3] 397312 bytes, WRITE 1 [1024K:1] 1048576 bytes, "
              "other 1");
}

TEST(RequestCounts, EmptyWhenNothingCame) {
    EXPECT_EQ(RequestCounts().summary(), "");
}

}  // namespace
}  // namespace vfs::host
