// The DAX mapping table on its own: the range rule, replacement of overlapped mappings,
// exact-match removal, the bound on live mappings, drops (the front-end's stale ranges
// unmapped before the next map) and "no map before the device runs". The mapper here
// records what the device would send to the front-end; the files are real.
#include "fuse/dax_mappings.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace vfs::host {
namespace {

using vfs::wire::Error;
using vfs::wire::Status;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kRange = 2 * kMiB;
constexpr uint64_t kWindow = 16 * kMiB;

struct Call {
    bool map = false;
    uint64_t moffset = 0;
    uint64_t len = 0;
    bool writable = false;
};

class RecordingMapper final : public DaxMapper {
  public:
    bool negotiated() const override { return true; }
    bool ready() const override { return ready_; }
    Status map(int fd, uint64_t, uint64_t moffset, uint64_t len, bool writable) override {
        EXPECT_GE(fd, 0);
        calls.push_back({true, moffset, len, writable});
        if (fail_next) {
            fail_next = false;
            return Error{EIO};
        }
        if (report_late) {
            reporter = std::thread([files = report_late] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                files->reported();
            });
        }
        return {};
    }
    ~RecordingMapper() override {
        if (reporter.joinable()) reporter.join();
    }
    Status unmap(uint64_t moffset, uint64_t len) override {
        calls.push_back({false, moffset, len, false});
        return {};
    }
    size_t maps() const {
        size_t n = 0;
        for (const auto& c : calls)
            n += c.map;
        return n;
    }
    size_t unmaps() const { return calls.size() - maps(); }

    bool ready_ = true;
    bool fail_next = false;
    // As QEMU 11.1.3: the mapping is reported as a memory region only after the ack.
    memory::WindowFiles* report_late = nullptr;
    std::thread reporter;
    std::vector<Call> calls;
};

class DaxTable : public ::testing::Test {
  protected:
    void SetUp() override {
        char path[] = "/tmp/vfs-dax-table-XXXXXX";
        fd_ = ::mkstemp(path);
        ASSERT_GE(fd_, 0);
        ::unlink(path);
        ASSERT_EQ(::ftruncate(fd_, 8 * kMiB), 0);
    }
    void TearDown() override { ::close(fd_); }
    DataFile grant(DataAccess a = DataAccess::kRead) {
        const int fd = ::dup(fd_);
        auto keep = std::shared_ptr<int>(new int(fd), [](int* p) {
            ::close(*p);
            delete p;
        });
        return DataFile(fd, false, a, keep);
    }

    int fd_ = -1;
    RecordingMapper mapper_;
    memory::WindowFiles files_;
    DaxMappings table_{kWindow, mapper_, files_};
};

TEST(DaxRange, AlignedInsideTheWindowAndNoOverflow) {
    EXPECT_TRUE(DaxMappings::check_range(kWindow, 0, kRange, 0));
    EXPECT_TRUE(DaxMappings::check_range(kWindow, 4096, 4096, kWindow - 4096));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, 0, 0));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 1, kRange, 0));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, kRange, 2048));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, kRange + 1, 0));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, kRange, kWindow));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, kWindow + 4096, 0));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, 0, kRange, ~0ull & ~4095ull));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, ~0ull & ~4095ull, kRange, 0));
    EXPECT_FALSE(DaxMappings::check_range(kWindow, (1ull << 63) - 4096, kRange, 0));
    EXPECT_FALSE(DaxMappings::check_range(0, 0, 4096, 0));  // no window at all
}

TEST_F(DaxTable, MapsAndRemovesExactRanges) {
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 0, false));
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), kRange, kRange, kRange, true));
    EXPECT_EQ(mapper_.maps(), 2u);
    EXPECT_TRUE(mapper_.calls[1].writable);
    EXPECT_TRUE(files_.holds(fd_));
    const DaxRange both[] = {{0, kRange}, {kRange, kRange}};
    ASSERT_TRUE(table_.remove(both));
    EXPECT_EQ(mapper_.unmaps(), 2u);
    EXPECT_FALSE(files_.holds(fd_));
    EXPECT_EQ(table_.counters().live, 0u);
}

// The guest is answered once the front-end's memory layout has the mapping, not at the ack.
TEST_F(DaxTable, SetupReturnsOnlyAfterTheFrontendReportsTheMapping) {
    files_.reported();  // this front-end reports window regions
    mapper_.report_late = &files_;
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 0, false));
    EXPECT_EQ(files_.reports(), 2u);
    mapper_.reporter.join();
}

// A read mapping may carry a write grant (QEMU 11.1.3 needs a read-write fd); a write
// mapping never carries a read grant.
TEST_F(DaxTable, AReadMappingMayCarryAWriteGrantNeverTheReverse) {
    ASSERT_TRUE(table_.setup(grant(DataAccess::kWrite), 0, kRange, 0, false));
    EXPECT_FALSE(mapper_.calls.back().writable);
    auto s = table_.setup(grant(DataAccess::kRead), kRange, kRange, kRange, true);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), EBADF);
}

TEST_F(DaxTable, OverlappedMappingsAreUnmappedFirst) {
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 0, false));
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, kRange, false));
    // One range straddling both: each whole old mapping goes, then the new one is mapped.
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, kRange / 2, false));
    ASSERT_EQ(mapper_.calls.size(), 5u);
    EXPECT_FALSE(mapper_.calls[2].map);
    EXPECT_EQ(mapper_.calls[2].moffset, 0u);
    EXPECT_FALSE(mapper_.calls[3].map);
    EXPECT_EQ(mapper_.calls[3].moffset, kRange);
    EXPECT_TRUE(mapper_.calls[4].map);
    EXPECT_EQ(table_.counters().live, 1u);
}

TEST_F(DaxTable, RemovalMustMatchWholeLiveMappingsOrNothingIsUnmapped) {
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 0, false));
    const DaxRange half[] = {{0, kRange / 2}};
    EXPECT_EQ(table_.remove(half).error(), ENOENT);
    const DaxRange one_bad[] = {{0, kRange}, {4 * kRange, kRange}};
    EXPECT_EQ(table_.remove(one_bad).error(), ENOENT);
    EXPECT_EQ(mapper_.unmaps(), 0u);
    EXPECT_EQ(table_.counters().live, 1u);
    std::vector<DaxRange> too_many(DaxMappings::kMaxRemoveRanges + 1, DaxRange{0, kRange});
    EXPECT_EQ(table_.remove(too_many).error(), EINVAL);
    EXPECT_EQ(mapper_.unmaps(), 0u);
}

TEST_F(DaxTable, BadRangesAndMissingGrantsNeverReachTheMapper) {
    EXPECT_EQ(table_.setup(grant(), 0, kRange, kWindow, false).error(), EINVAL);
    EXPECT_EQ(table_.setup(grant(), 0, kRange, 1, false).error(), EINVAL);
    EXPECT_EQ(table_.setup(grant(DataAccess::kRead), 0, kRange, 0, true).error(), EBADF);
    EXPECT_EQ(table_.setup(DataFile(), 0, kRange, 0, false).error(), EBADF);
    EXPECT_TRUE(mapper_.calls.empty());
    EXPECT_EQ(table_.counters().refused, 4u);
}

TEST_F(DaxTable, NoMapBeforeTheDeviceRuns) {
    mapper_.ready_ = false;
    EXPECT_EQ(table_.setup(grant(), 0, kRange, 0, false).error(), EIO);
    EXPECT_TRUE(mapper_.calls.empty());
}

TEST_F(DaxTable, LiveMappingsAreBounded) {
    DaxMappings big(uint64_t{DaxMappings::kMaxLive + 1} * 4096, mapper_, files_);
    for (uint32_t i = 0; i < DaxMappings::kMaxLive; ++i)
        ASSERT_TRUE(big.setup(grant(), 0, 4096, uint64_t{i} * 4096, false)) << i;
    EXPECT_EQ(big.setup(grant(), 0, 4096, uint64_t{DaxMappings::kMaxLive} * 4096, false).error(),
              ENOSPC);
    // Replacing a live one is still fine: the count does not grow.
    EXPECT_TRUE(big.setup(grant(), 4096, 4096, 0, false));
    EXPECT_EQ(big.counters().live, DaxMappings::kMaxLive);
}

TEST_F(DaxTable, AFailedMapLeavesNothingLive) {
    mapper_.fail_next = true;
    EXPECT_EQ(table_.setup(grant(), 0, kRange, 0, false).error(), EIO);
    EXPECT_EQ(table_.counters().live, 0u);
    EXPECT_EQ(table_.counters().failed, 1u);
    EXPECT_FALSE(files_.holds(fd_));
}

TEST_F(DaxTable, DropForgetsAtOnceAndStaleRangesAreUnmappedBeforeTheNextMap) {
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 0, false));
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, kRange, false));
    table_.drop_all("test");
    EXPECT_EQ(table_.counters().live, 0u);
    EXPECT_EQ(mapper_.unmaps(), 0u);  // nothing sent from the dropping thread
    const DaxRange first[] = {{0, kRange}};
    EXPECT_EQ(table_.remove(first).error(), ENOENT);
    ASSERT_TRUE(table_.setup(grant(), 0, kRange, 4 * kRange, false));
    EXPECT_EQ(mapper_.unmaps(), 2u);
    EXPECT_EQ(mapper_.maps(), 3u);
    EXPECT_EQ(table_.counters().drops, 1u);
}

}  // namespace
}  // namespace vfs::host
