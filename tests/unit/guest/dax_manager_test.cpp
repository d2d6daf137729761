// The DAX manager's policy against a stub window: reuse, read-only until a write, LRU
// eviction in batches, forgotten nodes, failures that leave it consistent, and a window
// of 4 ranges under a working set 8 times larger, checked byte for byte.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "lib/ukfuse/dax_manager.h"
#include "stub_dax_window.h"
#include "test_bytes.h"

namespace vfs::guest {
namespace {

using testing::lcg_bytes;
using testing::StubDaxWindow;
using ukfuse::DaxManager;
constexpr uint64_t kRange = ukfuse::kDaxRangeSize;
constexpr uint64_t kFh = 7;

TEST(DaxManager, RefusesAWindowWithoutAWholeRange) {
    StubDaxWindow w(kRange - 4096);
    DaxManager m;
    EXPECT_EQ(m.init(&w).error(), EINVAL);
    uint64_t n = 0;
    EXPECT_EQ(m.access(2, kFh, 0, 1, false, 4096, &n).error(), ENODEV);
}

TEST(DaxManager, MapsARangeOnceAndReusesIt) {
    StubDaxWindow w(4 * kRange);
    w.file(2) = lcg_bytes(3 * kRange, 1);
    DaxManager m;
    ASSERT_TRUE(m.init(&w));
    EXPECT_EQ(m.ranges(), 4u);
    std::vector<uint8_t> buf(8192);
    for (int i = 0; i < 3; ++i) {
        auto n = m.read(2, kFh, 4096, buf.data(), buf.size(), w.file(2).size());
        ASSERT_TRUE(n);
        EXPECT_EQ(*n, buf.size());
        EXPECT_EQ(0, std::memcmp(buf.data(), w.file(2).data() + 4096, buf.size()));
    }
    EXPECT_EQ(w.map_calls, 1u);
    EXPECT_EQ(m.stats().hits, 2u);
    // A read across a range boundary maps the next range too.
    auto n = m.read(2, kFh, kRange - 100, buf.data(), 200, w.file(2).size());
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 200u);
    EXPECT_EQ(0, std::memcmp(buf.data(), w.file(2).data() + kRange - 100, 200));
    EXPECT_EQ(w.map_calls, 2u);
    EXPECT_EQ(m.live(), 2u);
}

TEST(DaxManager, MapsOnlyWholePagesInsideTheFileAndLongerWhenItGrows) {
    StubDaxWindow w(2 * kRange);
    w.file(2) = lcg_bytes(10000, 8);  // two whole pages and a partial one
    DaxManager m;
    ASSERT_TRUE(m.init(&w));
    uint8_t b[512];
    auto n = m.read(2, kFh, 8000, b, 500, w.file(2).size());
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 192u);  // up to the last whole page: the rest is FUSE's
    EXPECT_EQ(m.read(2, kFh, 8192, b, 1, w.file(2).size()).error(), ENXIO);
    w.file(2).resize(3 * 4096 + 1);
    ASSERT_TRUE(m.read(2, kFh, 8192, b, 16, w.file(2).size()));  // mapped again, longer
    EXPECT_EQ(0, std::memcmp(b, w.file(2).data() + 8192, 16));
    EXPECT_EQ(w.map_calls, 2u);
    EXPECT_EQ(m.live(), 1u);
    ASSERT_TRUE(m.unmap_all());
}

TEST(DaxManager, MapsReadOnlyUntilAWriteThenUpgradesInPlace) {
    StubDaxWindow w(2 * kRange);
    w.file(2) = lcg_bytes(kRange, 2);
    DaxManager m;
    ASSERT_TRUE(m.init(&w));
    uint8_t b[16];
    ASSERT_TRUE(m.read(2, kFh, 0, b, sizeof(b), w.file(2).size()));
    EXPECT_EQ(m.stats().maps, 1u);
    const uint8_t data[4] = {1, 2, 3, 4};
    ASSERT_TRUE(m.write(2, kFh, 100, data, sizeof(data), w.file(2).size()));
    EXPECT_EQ(m.stats().upgrades, 1u);
    EXPECT_EQ(w.upgrades, 1u);
    EXPECT_EQ(m.live(), 1u);  // the same range, not a second one
    ASSERT_TRUE(m.write(2, kFh, 200, data, sizeof(data), w.file(2).size()));
    EXPECT_EQ(w.map_calls, 2u);  // already writable
    ASSERT_TRUE(m.unmap_all());
    EXPECT_EQ(0, std::memcmp(&w.file(2)[100], data, 4));
    EXPECT_EQ(0, std::memcmp(&w.file(2)[200], data, 4));
    EXPECT_EQ(w.ro_violations, 0u);
    EXPECT_EQ(w.mapped_slots(), 0u);
}

TEST(DaxManager, EvictsTheLeastRecentlyUsedRange) {
    StubDaxWindow w(4 * kRange);
    w.file(2) = lcg_bytes(8 * kRange, 3);
    DaxManager m;
    ASSERT_TRUE(m.init(&w, 1));
    uint8_t b;
    for (uint64_t r : {0, 1, 2, 3, 0})  // range 0 used again: 1 is now the oldest
        ASSERT_TRUE(m.read(2, kFh, r * kRange, &b, 1, w.file(2).size()));
    ASSERT_TRUE(m.read(2, kFh, 4 * kRange, &b, 1, w.file(2).size()));
    EXPECT_EQ(m.stats().evictions, 1u);
    const uint64_t maps = w.map_calls;
    ASSERT_TRUE(m.read(2, kFh, 0, &b, 1, w.file(2).size()));  // still mapped
    EXPECT_EQ(w.map_calls, maps);
    ASSERT_TRUE(m.read(2, kFh, 1 * kRange, &b, 1, w.file(2).size()));  // evicted: mapped again
    EXPECT_EQ(w.map_calls, maps + 1);
    EXPECT_EQ(b, w.file(2)[kRange]);
}

TEST(DaxManager, EvictsInBatchesOfOneRemoveMapping) {
    StubDaxWindow w(16 * kRange);
    w.file(2) = lcg_bytes(40 * kRange, 4);
    DaxManager m;
    ASSERT_TRUE(m.init(&w, 4));
    uint8_t b;
    for (uint64_t r = 0; r < 17; ++r)
        ASSERT_TRUE(m.read(2, kFh, r * kRange, &b, 1, w.file(2).size()));
    EXPECT_EQ(w.unmap_calls, 1u);
    ASSERT_EQ(w.batch_sizes.size(), 1u);
    EXPECT_EQ(w.batch_sizes[0], 4u);
    EXPECT_EQ(m.live(), 13u);
    // The next three new ranges need no REMOVEMAPPING.
    for (uint64_t r = 17; r < 20; ++r)
        ASSERT_TRUE(m.read(2, kFh, r * kRange, &b, 1, w.file(2).size()));
    EXPECT_EQ(w.unmap_calls, 1u);
    EXPECT_EQ(m.stats().ranges_unmapped, 4u);
    ASSERT_TRUE(m.unmap_all());
    EXPECT_EQ(w.mapped_slots(), 0u);
    EXPECT_EQ(m.live(), 0u);
}

TEST(DaxManager, AForgottenNodeIsUnmappedAtOnceInOneBatchAndItsIdCanComeBack) {
    StubDaxWindow w(4 * kRange);
    w.file(2) = lcg_bytes(2 * kRange, 5);
    w.file(3) = lcg_bytes(2 * kRange, 6);
    DaxManager m;
    ASSERT_TRUE(m.init(&w, 1));
    uint8_t b;
    ASSERT_TRUE(m.read(2, kFh, 0, &b, 1, w.file(2).size()));
    ASSERT_TRUE(m.read(3, kFh, 0, &b, 1, w.file(3).size()));
    ASSERT_TRUE(m.read(2, kFh, kRange, &b, 1, w.file(2).size()));
    ASSERT_TRUE(m.forget_node(2));
    ASSERT_EQ(w.batch_sizes.size(), 1u);
    EXPECT_EQ(w.batch_sizes[0], 2u);
    EXPECT_EQ(m.live(), 1u);
    EXPECT_EQ(m.stats().evictions, 0u);
    // Node id 2 now names another file: nothing stale is served.
    w.file(2) = lcg_bytes(2 * kRange, 9);
    ASSERT_TRUE(m.read(2, kFh, kRange, &b, 1, w.file(2).size()));
    EXPECT_EQ(b, w.file(2)[kRange]);
    ASSERT_TRUE(m.forget_node(4));  // nothing mapped: nothing sent
    EXPECT_EQ(w.unmap_calls, 1u);
}

TEST(DaxManager, EvictionSendsOneRemoveMappingPerNode) {
    StubDaxWindow w(4 * kRange);
    w.file(2) = lcg_bytes(2 * kRange, 5);
    w.file(3) = lcg_bytes(4 * kRange, 6);
    DaxManager m;
    ASSERT_TRUE(m.init(&w, 4));
    uint8_t b;
    ASSERT_TRUE(m.read(2, kFh, 0, &b, 1, w.file(2).size()));
    ASSERT_TRUE(m.read(3, kFh, 0, &b, 1, w.file(3).size()));
    ASSERT_TRUE(m.read(2, kFh, kRange, &b, 1, w.file(2).size()));
    ASSERT_TRUE(m.read(3, kFh, kRange, &b, 1, w.file(3).size()));
    ASSERT_TRUE(
        m.read(3, kFh, 2 * kRange, &b, 1, w.file(3).size()));  // evicts all four: two messages
    ASSERT_EQ(w.batch_sizes.size(), 2u);
    EXPECT_EQ(w.batch_sizes[0] + w.batch_sizes[1], 4u);
    EXPECT_EQ(m.stats().removemapping_msgs, 2u);
    EXPECT_EQ(b, w.file(3)[2 * kRange]);
}

TEST(DaxManager, FailuresLeaveItConsistent) {
    StubDaxWindow w(2 * kRange);
    w.file(2) = lcg_bytes(2 * kRange, 7);
    DaxManager m;
    ASSERT_TRUE(m.init(&w));
    uint8_t b = 0;
    w.fail_map_errno = ENOSYS;
    EXPECT_EQ(m.read(2, kFh, 0, &b, 1, w.file(2).size()).error(), ENOSYS);
    EXPECT_EQ(m.live(), 0u);
    w.fail_map_errno = 0;
    ASSERT_TRUE(m.read(2, kFh, 0, &b, 1, w.file(2).size()));
    // A refused upgrade (a read-only share): the write fails and the range is given up,
    // since a server replacing the mapping may have removed it first; a read maps again.
    w.refuse_write_errno = EROFS;
    EXPECT_EQ(m.write(2, kFh, 0, &b, 1, w.file(2).size()).error(), EROFS);
    EXPECT_EQ(m.live(), 0u);
    const uint64_t maps = w.map_calls;
    ASSERT_TRUE(m.read(2, kFh, 5, &b, 1, w.file(2).size()));
    EXPECT_EQ(w.map_calls, maps + 1);
    EXPECT_EQ(b, w.file(2)[5]);
    EXPECT_EQ(m.stats().errors, 2u);
    ASSERT_TRUE(m.unmap_all());
    EXPECT_EQ(w.ro_violations, 0u);
}

// The proof the issue asks for: 4 ranges, a working set 8 times larger (32 ranges over
// 4 files), sequential then random reads and writes crossing range boundaries, every
// read compared with a model, and every byte of every file compared at the end.
TEST(DaxManager, FourRangeWindowUnderAWorkingSetEightTimesLarger) {
    StubDaxWindow w(4 * kRange);
    DaxManager m;
    ASSERT_TRUE(m.init(&w));
    constexpr uint64_t kFiles = 4, kFileSize = 8 * kRange;
    std::vector<std::vector<uint8_t>> model(kFiles);
    for (uint64_t f = 0; f < kFiles; ++f) {
        model[f] = lcg_bytes(kFileSize, 100 + f);
        w.file(10 + f) = std::vector<uint8_t>(kFileSize, 0);
    }
    // Sequential writes of every file, 1 MiB + 4 KiB at a time (straddling ranges).
    constexpr uint64_t kChunk = (1u << 20) + 4096;
    for (uint64_t f = 0; f < kFiles; ++f) {
        for (uint64_t off = 0; off < kFileSize; off += kChunk) {
            const uint64_t n = std::min(kChunk, kFileSize - off);
            auto r = m.write(10 + f, kFh, off, model[f].data() + off, n, w.file(10 + f).size());
            ASSERT_TRUE(r);
            ASSERT_EQ(*r, n);
        }
    }
    std::mt19937_64 rng(42);
    std::vector<uint8_t> buf(3 * kRange);
    for (int op = 0; op < 300; ++op) {
        const uint64_t f = rng() % kFiles;
        const uint64_t off = rng() % kFileSize;
        const uint64_t len = 1 + rng() % std::min<uint64_t>(buf.size(), kFileSize - off);
        if (rng() % 3 == 0) {
            const auto fresh = lcg_bytes(len, static_cast<uint32_t>(rng()));
            std::memcpy(buf.data(), fresh.data(), len);
            std::memcpy(model[f].data() + off, buf.data(), len);
            auto r = m.write(10 + f, kFh, off, buf.data(), len, w.file(10 + f).size());
            ASSERT_TRUE(r);
            ASSERT_EQ(*r, len);
        } else {
            auto r = m.read(10 + f, kFh, off, buf.data(), len, w.file(10 + f).size());
            ASSERT_TRUE(r);
            ASSERT_EQ(*r, len);
            ASSERT_EQ(0, std::memcmp(buf.data(), model[f].data() + off, len))
                << "file " << f << " at " << off << " len " << len;
        }
        ASSERT_LE(m.live(), 4u);
    }
    ASSERT_TRUE(m.unmap_all());
    EXPECT_EQ(w.mapped_slots(), 0u);
    EXPECT_GT(m.stats().evictions, 32u);
    EXPECT_EQ(w.ro_violations, 0u);
    for (uint64_t f = 0; f < kFiles; ++f)
        EXPECT_TRUE(w.file(10 + f) == model[f]) << "file " << f << " differs";
}

}  // namespace
}  // namespace vfs::guest
