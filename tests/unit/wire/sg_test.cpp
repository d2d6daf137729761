#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vfs/wire/checked.h"
#include "vfs/wire/sg.h"

using namespace vfs::wire;

TEST(SgReader, ReadsAcrossSegmentsAndSkipsEmptyOnes) {
    uint8_t a[3] = {1, 2, 3}, b[1] = {4}, c[4] = {5, 6, 7, 8};
    Segment segs[] = {{nullptr, 0}, {a, 3}, {nullptr, 0}, {b, 1}, {c, 4}};
    SgReader r(segs, 5);
    EXPECT_EQ(r.remaining(), 8u);
    uint8_t out[6] = {};
    ASSERT_TRUE(r.read(out, 6).ok());
    EXPECT_EQ(0, memcmp(out, "\1\2\3\4\5\6", 6));
    EXPECT_EQ(r.remaining(), 2u);
    EXPECT_EQ(r.read(out, 3).error(), EINVAL);  // short: nothing consumed
    EXPECT_EQ(r.remaining(), 2u);
    const uint8_t* p = r.contiguous(2);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p[0], 7);
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(SgReader, TakeSegmentsRespectsLimit) {
    uint8_t a[4], b[4], c[4];
    Segment segs[] = {{a, 4}, {b, 4}, {c, 4}};
    SgReader r(segs, 3);
    ASSERT_TRUE(r.skip(2).ok());
    Segment out[2];
    EXPECT_EQ(r.take_segments(10, out, 2).error(), E2BIG);  // needs 3 pieces
    EXPECT_EQ(r.remaining(), 10u);
    auto n = r.take_segments(6, out, 2);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 2u);
    EXPECT_EQ(out[0].data, a + 2);
    EXPECT_EQ(out[0].len, 2u);
    EXPECT_EQ(out[1].data, b);
    EXPECT_EQ(out[1].len, 4u);
}

TEST(SgWriter, NeverWritesPastCapacity) {
    std::vector<uint8_t> a(5, 0xee), b(3, 0xee);
    Segment segs[] = {{a.data(), 4}, {b.data(), 2}};
    SgWriter w(segs, 2);
    const char msg[] = "abcdefg";
    EXPECT_EQ(w.write(msg, 7).error(), ERANGE);
    EXPECT_EQ(w.written(), 0u);
    ASSERT_TRUE(w.write(msg, 6).ok());
    EXPECT_EQ(a[4], 0xee);  // guard byte untouched
    EXPECT_EQ(b[2], 0xee);
    EXPECT_EQ(0, memcmp(b.data(), "ef", 2));
    EXPECT_EQ(w.zero(1).error(), ERANGE);
}

TEST(Checked, RangesAndOverflow) {
    EXPECT_TRUE(range_within(10, 5, 10, 5));
    EXPECT_FALSE(range_within(10, 6, 10, 5));
    EXPECT_FALSE(range_within(9, 1, 10, 5));
    EXPECT_FALSE(range_within(UINT64_MAX, 2, 0, UINT64_MAX));
    uint64_t out;
    EXPECT_FALSE(checked_add<uint64_t>(UINT64_MAX, 1, &out));
    EXPECT_FALSE(align_up(UINT64_MAX - 1, 4096, &out));
    ASSERT_TRUE(align_up(4097, 4096, &out));
    EXPECT_EQ(out, 8192u);
}

TEST(SgReader, ReadUntilCopiesAcrossSegmentsAndConsumesNothingOnMiss) {
    uint8_t a[2] = {'a', 'b'}, b[3] = {'c', 0, 'x'};
    Segment segs[] = {{a, 2}, {nullptr, 0}, {b, 3}};
    SgReader r(segs, 3);
    char out[8] = {};
    EXPECT_EQ(r.read_until(0, out, 3).error(), ENOENT);  // NUL is the 4th byte
    EXPECT_EQ(r.remaining(), 5u);
    auto n = r.read_until(0, out, 8);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 4u);
    EXPECT_STREQ(out, "abc");
    EXPECT_EQ(r.remaining(), 1u);
    EXPECT_EQ(r.read_until(0, out, 8).error(), ENOENT);  // 'x' and then the end
    EXPECT_EQ(r.remaining(), 1u);
}
