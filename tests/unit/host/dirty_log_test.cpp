// memory::DirtyLog: one bit per 4 KiB guest page, set for every page a range touches
// (ranges across page and byte boundaries), nothing past the bitmap (counted, never an
// access outside it), and the mapping refuses what cannot be a log (a size of 0 or too
// large, a wrapping range, a pipe, an fd shorter than the range). Also MemoryMap::gpa_of,
// the way back from a host pointer to the guest address the log needs.
#include "memory/dirty_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

#include "memory/guest_memory.h"

namespace vfs::host::memory {
namespace {

constexpr uint64_t P = kLogPageBytes;

std::vector<uint64_t> marked_pages(const std::vector<uint8_t>& bits) {
    std::vector<uint64_t> pages;
    for (uint64_t i = 0; i < bits.size() * 8; ++i)
        if (bits[i / 8] & (1u << (i % 8))) pages.push_back(i);
    return pages;
}

TEST(DirtyLog, MarksEveryPageARangeTouches) {
    std::vector<uint8_t> bits(4, 0);  // 32 pages
    auto log = DirtyLog::over(bits.data(), bits.size());
    EXPECT_EQ(log->covered_bytes(), 32 * P);
    log->mark(0, 1);
    EXPECT_EQ(marked_pages(bits), (std::vector<uint64_t>{0}));
    log->mark(P - 1, 2);  // the last byte of page 0 and the first of page 1
    EXPECT_EQ(marked_pages(bits), (std::vector<uint64_t>{0, 1}));
    log->mark(7 * P + 100, P);  // pages 7 and 8: across a byte of the bitmap
    EXPECT_EQ(marked_pages(bits), (std::vector<uint64_t>{0, 1, 7, 8}));
    log->mark(12 * P, P);  // exactly one page
    EXPECT_EQ(marked_pages(bits), (std::vector<uint64_t>{0, 1, 7, 8, 12}));
    log->mark(20 * P, 0);  // nothing written, nothing marked
    EXPECT_EQ(marked_pages(bits), (std::vector<uint64_t>{0, 1, 7, 8, 12}));
    EXPECT_EQ(log->pages_out_of_range(), 0u);
}

TEST(DirtyLog, OutOfRangeIsLeftOutAndCounted) {
    std::vector<uint8_t> guard(8, 0);            // bytes 2..7 stand past the 2-byte log
    auto log = DirtyLog::over(guard.data(), 2);  // 16 pages
    log->mark(14 * P, 4 * P);                    // pages 14..17: two in, two out
    EXPECT_EQ(marked_pages(guard), (std::vector<uint64_t>{14, 15}));
    EXPECT_EQ(log->pages_out_of_range(), 2u);
    log->mark(1ull << 40, 8192);      // far past the log
    log->mark(UINT64_MAX - 10, 100);  // wraps the address space
    EXPECT_EQ(marked_pages(guard), (std::vector<uint64_t>{14, 15}));
    for (size_t i = 2; i < guard.size(); ++i)
        EXPECT_EQ(guard[i], 0) << "a byte past the log was written: " << i;
    EXPECT_GT(log->pages_out_of_range(), 2u);
}

UniqueFd memfd_of(uint64_t bytes) {
    UniqueFd fd(::memfd_create("dirty-log-test", MFD_CLOEXEC));
    if (fd.valid() && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) fd.reset();
    return fd;
}

TEST(DirtyLog, MapsAMemfdAtItsOffset) {
    UniqueFd fd = memfd_of(3 * 4096);
    ASSERT_TRUE(fd.valid());
    // An offset that is not page-aligned: the log's byte 0 is file byte 4096 + 100.
    auto log = DirtyLog::map(fd.get(), 64, 4096 + 100);
    ASSERT_TRUE(log) << strerror(log.error());
    (*log)->mark(9 * P, 1);  // page 9: byte 1, bit 1
    uint8_t b[2] = {};
    ASSERT_EQ(::pread(fd.get(), b, 2, 4096 + 100), 2);
    EXPECT_EQ(b[0], 0);
    EXPECT_EQ(b[1], 0x2);
}

TEST(DirtyLog, RefusesWhatCannotBeALog) {
    UniqueFd fd = memfd_of(4096);
    ASSERT_TRUE(fd.valid());
    EXPECT_EQ(DirtyLog::map(fd.get(), 0, 0).error(), EINVAL) << "empty";
    EXPECT_EQ(DirtyLog::map(fd.get(), 8192, 0).error(), EINVAL) << "past the file's end";
    EXPECT_EQ(DirtyLog::map(fd.get(), 64, 4090).error(), EINVAL) << "ends past the file";
    EXPECT_EQ(DirtyLog::map(fd.get(), 64, UINT64_MAX - 10).error(), EINVAL) << "wraps";
    EXPECT_EQ(DirtyLog::map(fd.get(), kMaxLogBytes + 8, 0).error(), EINVAL) << "too large";
    EXPECT_EQ(DirtyLog::map(-1, 64, 0).error(), EINVAL);
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    EXPECT_EQ(DirtyLog::map(rd.get(), 64, 0).error(), EINVAL) << "a pipe";
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    EXPECT_EQ(DirtyLog::map(efd.get(), 64, 0).error(), EINVAL) << "an eventfd";
}

TEST(DirtyLogHandle, ActiveOnlyWithLogAllAndALog) {
    DirtyLogHandle h;
    std::vector<uint8_t> bits(8, 0);
    EXPECT_FALSE(h.active());
    h.set_logging(true);
    EXPECT_FALSE(h.active()) << "LOG_ALL without a log marks nothing";
    const uint64_t g = h.generation();
    h.set_log(DirtyLog::over(bits.data(), bits.size()));
    EXPECT_TRUE(h.active());
    EXPECT_NE(h.generation(), g) << "workers see the new log";
    h.set_logging(false);
    EXPECT_FALSE(h.active());
    h.set_logging(true);
    h.set_log(nullptr);
    EXPECT_FALSE(h.active());
    EXPECT_EQ(h.get(), nullptr);
}

TEST(UsedRingLog, CarriesTheFlagAndTheAddress) {
    UsedRingLog u;
    uint64_t gpa = 1;
    EXPECT_FALSE(u.get(&gpa));
    u.set(true, 0x12345000);
    ASSERT_TRUE(u.get(&gpa));
    EXPECT_EQ(gpa, 0x12345000u);
    u.set(false, 0x12345000);
    EXPECT_FALSE(u.get(&gpa));
}

TEST(MemoryMapGpaOf, FindsTheGuestAddressOfAHostRange) {
    UniqueFd fd = memfd_of(2 * 65536);
    ASSERT_TRUE(fd.valid());
    auto a = map_region(GuestRegion{0x100000, 65536, 0x7000000000, 0}, fd.get());
    auto b = map_region(GuestRegion{0x400000, 65536, 0x7000100000, 65536}, fd.get());
    ASSERT_TRUE(a && b);
    auto m1 = std::make_shared<const MemoryMap>()->with_region(*a);
    ASSERT_TRUE(m1);
    auto m = (*m1)->with_region(*b);
    ASSERT_TRUE(m);
    const uint8_t* p = (*m)->translate_gpa(0x400000 + 300, 16);
    ASSERT_NE(p, nullptr);
    uint64_t gpa = 0;
    ASSERT_TRUE((*m)->gpa_of(p, 16, &gpa));
    EXPECT_EQ(gpa, 0x400000u + 300);
    const uint8_t* q = (*m)->translate_gpa(0x100000, 65536);
    ASSERT_TRUE((*m)->gpa_of(q, 65536, &gpa));
    EXPECT_EQ(gpa, 0x100000u);
    EXPECT_FALSE((*m)->gpa_of(q, 65537, &gpa)) << "runs past its region";
    uint8_t elsewhere[16];
    EXPECT_FALSE((*m)->gpa_of(elsewhere, 16, &gpa));
    EXPECT_FALSE((*m)->gpa_of(q, 0, &gpa));
}

}  // namespace
}  // namespace vfs::host::memory
