// DAX coverage: which pieces of a guest's 2 MiB range the daemon maps as the file's size
// allows (QEMU 11.1.3 maps a file range only if the file reaches its page-rounded end), and
// what each growth adds.
#include "fuse/dax_coverage.h"

#include <gtest/gtest.h>

namespace vfs::host {
namespace {

constexpr uint64_t kPage = DaxCoverage::kPage;
constexpr uint64_t kRange = 2ull << 20;

TEST(DaxCoverage, AFileFillingTheRangeIsOnePiece) {
    DaxCoverage c(kRange, kRange);
    DaxPiece p[2];
    ASSERT_EQ(c.extend(8 * kRange, p), 1u);
    EXPECT_EQ(p[0].offset, 0u);
    EXPECT_EQ(p[0].len, kRange);
    EXPECT_FALSE(p[0].tail);
    EXPECT_TRUE(c.complete());
    EXPECT_EQ(c.extend(9 * kRange, p), 0u);
}

TEST(DaxCoverage, TheFilesWholePagesThenATailPageForThePageHoldingEof) {
    DaxCoverage c(kRange, kRange);
    DaxPiece p[2];
    // 3 MiB - 5 bytes: [2 MiB, 3 MiB - 4 KiB) from the file, the last page a tail page.
    ASSERT_EQ(c.extend(3 * (1ull << 20) - 5, p), 2u);
    EXPECT_EQ(p[0].offset, 0u);
    EXPECT_EQ(p[0].len, (1ull << 20) - kPage);
    EXPECT_FALSE(p[0].tail);
    EXPECT_EQ(p[1].offset, (1ull << 20) - kPage);
    EXPECT_EQ(p[1].len, kPage);
    EXPECT_TRUE(p[1].tail);
    EXPECT_EQ(c.covered(), 1ull << 20);
    EXPECT_FALSE(c.complete());
}

TEST(DaxCoverage, ASmallFileIsOnlyATailPage) {
    DaxCoverage c(0, kRange);
    DaxPiece p[2];
    ASSERT_EQ(c.extend(6, p), 1u);
    EXPECT_EQ(p[0].offset, 0u);
    EXPECT_EQ(p[0].len, kPage);
    EXPECT_TRUE(p[0].tail);
}

TEST(DaxCoverage, APageMultipleNeedsNoTailPage) {
    DaxCoverage c(0, kRange);
    DaxPiece p[2];
    ASSERT_EQ(c.extend(3 * kPage, p), 1u);
    EXPECT_EQ(p[0].len, 3 * kPage);
    EXPECT_FALSE(p[0].tail);
}

TEST(DaxCoverage, NothingAtOrPastEof) {
    DaxCoverage c(kRange, kRange);
    DaxPiece p[2];
    EXPECT_EQ(c.extend(0, p), 0u);
    EXPECT_EQ(c.extend(kRange, p), 0u);
    EXPECT_EQ(c.covered(), 0u);
}

TEST(DaxCoverage, GrowthAddsOnlyTheNewlyReachedPages) {
    DaxCoverage c(0, kRange);
    DaxPiece p[2];
    ASSERT_EQ(c.extend(100, p), 1u);  // tail page 0
    // Still inside page 0: the tail page serves it (reloaded by the table).
    EXPECT_EQ(c.extend(4000, p), 0u);
    // Into page 2: page 1 from the file, page 2 a tail page. Page 0 stays a tail page.
    ASSERT_EQ(c.extend(2 * kPage + 1, p), 2u);
    EXPECT_EQ(p[0].offset, kPage);
    EXPECT_EQ(p[0].len, kPage);
    EXPECT_FALSE(p[0].tail);
    EXPECT_EQ(p[1].offset, 2 * kPage);
    EXPECT_TRUE(p[1].tail);
    // Exactly to the end of page 4: pages 3 and 4 from the file.
    ASSERT_EQ(c.extend(5 * kPage, p), 1u);
    EXPECT_EQ(p[0].offset, 3 * kPage);
    EXPECT_EQ(p[0].len, 2 * kPage);
    // Past the range's end: up to the end, never beyond.
    ASSERT_EQ(c.extend(10 * kRange, p), 1u);
    EXPECT_EQ(p[0].offset, 5 * kPage);
    EXPECT_EQ(p[0].len, kRange - 5 * kPage);
    EXPECT_TRUE(c.complete());
}

TEST(DaxCoverage, AShrunkFileKeepsItsPieces) {
    DaxCoverage c(0, kRange);
    DaxPiece p[2];
    ASSERT_EQ(c.extend(5 * kPage, p), 1u);
    EXPECT_EQ(c.extend(3, p), 0u);
    EXPECT_EQ(c.covered(), 5 * kPage);
    ASSERT_EQ(c.extend(5 * kPage + 1, p), 1u);
    EXPECT_EQ(p[0].offset, 5 * kPage);
    EXPECT_TRUE(p[0].tail);
}

}  // namespace
}  // namespace vfs::host
