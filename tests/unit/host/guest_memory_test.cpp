// The guest memory map: translation at region edges, across gaps and adjacent regions,
// overflowing addresses, overlapping and excess regions, and removal while a snapshot is
// still in use.
#include "memory/guest_memory.h"
#include "memory/window_files.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>

namespace vfs::host::memory {
namespace {

// A region whose host memory is a fake base pointer: translation is pure arithmetic, so
// the map can be tested at addresses no process could really map.
std::shared_ptr<const MappedRegion> fake(uint64_t gpa, uint64_t size, uint64_t uva,
                                         uintptr_t host) {
    GuestRegion d{gpa, size, uva, 0};
    return std::make_shared<MappedRegion>(d, reinterpret_cast<uint8_t*>(host), nullptr, 0);
}

std::shared_ptr<const MemoryMap> build(
    std::initializer_list<std::shared_ptr<const MappedRegion>> rs) {
    auto m = std::make_shared<const MemoryMap>();
    for (auto& r : rs) {
        auto next = m->with_region(r);
        EXPECT_TRUE(next);
        m = *next;
    }
    return m;
}

constexpr uintptr_t kHostA = 0x10000000;
constexpr uintptr_t kHostB = 0x20000000;

TEST(GuestMemory, TranslatesInsideAndAtEdges) {
    auto m = build({fake(0x1000, 0x2000, 0x7f0000001000, kHostA)});
    EXPECT_EQ(m->translate_gpa(0x1000, 1), reinterpret_cast<uint8_t*>(kHostA));
    EXPECT_EQ(m->translate_gpa(0x1000, 0x2000), reinterpret_cast<uint8_t*>(kHostA));
    EXPECT_EQ(m->translate_gpa(0x2fff, 1), reinterpret_cast<uint8_t*>(kHostA + 0x1fff));
    EXPECT_EQ(m->translate_gpa(0x2fff, 2), nullptr);  // one byte past the end
    EXPECT_EQ(m->translate_gpa(0x3000, 1), nullptr);
    EXPECT_EQ(m->translate_gpa(0xfff, 2), nullptr);   // starts before the region
    EXPECT_EQ(m->translate_gpa(0x1000, 0), nullptr);  // empty ranges are refused
    EXPECT_EQ(m->translate_uva(0x7f0000001000 + 8, 8), reinterpret_cast<uint8_t*>(kHostA + 8));
    EXPECT_EQ(m->translate_uva(0x1000, 8), nullptr);  // a gpa is not a uva
}

TEST(GuestMemory, RangeAcrossAdjacentRegionsOrGapIsRefused) {
    auto m = build({fake(0x0, 0x1000, 0x100000, kHostA), fake(0x1000, 0x1000, 0x200000, kHostB),
                    fake(0x10000, 0x1000, 0x300000, kHostA + 0x1000)});
    EXPECT_EQ(m->translate_gpa(0x1000, 0x10), reinterpret_cast<uint8_t*>(kHostB));
    EXPECT_EQ(m->translate_gpa(0xff8, 0x10), nullptr);  // contiguous gpa, two regions
    EXPECT_EQ(m->translate_gpa(0x2000, 1), nullptr);    // the gap
    EXPECT_EQ(m->translate_gpa(0x1ff8, 0x10000), nullptr);
    EXPECT_EQ(m->translate_gpa(0x10000, 0x1000), reinterpret_cast<uint8_t*>(kHostA + 0x1000));
}

TEST(GuestMemory, OverflowingAddressesAreRefused) {
    auto m = build({fake(0xffffffffffff0000ull, 0x10000, 0x1000, kHostA)});
    EXPECT_EQ(m->translate_gpa(0xffffffffffff0000ull, 0x10000), reinterpret_cast<uint8_t*>(kHostA));
    EXPECT_EQ(m->translate_gpa(0xfffffffffffffff0ull, 0x20), nullptr);  // wraps past 2^64
    EXPECT_EQ(m->translate_gpa(0xffffffffffff0000ull, ~0ull), nullptr);
    EXPECT_EQ(m->translate_gpa(~0ull, 1), reinterpret_cast<uint8_t*>(kHostA + 0xffff));
    EXPECT_EQ(m->translate_uva(0x1000, ~0ull), nullptr);
}

TEST(GuestMemory, InvalidRegionsAreRefused) {
    EXPECT_FALSE(is_valid(GuestRegion{0, 0, 0, 0}));
    EXPECT_FALSE(is_valid(GuestRegion{~0ull, 2, 0, 0}));
    EXPECT_FALSE(is_valid(GuestRegion{0, 2, ~0ull, 0}));
    EXPECT_FALSE(is_valid(GuestRegion{0, 2, 0, ~0ull}));
    EXPECT_TRUE(is_valid(GuestRegion{~0ull, 1, 0, 0}));
    auto m = std::make_shared<const MemoryMap>();
    EXPECT_FALSE(m->with_region(fake(~0ull - 1, 16, 0, kHostA)));
}

TEST(GuestMemory, OverlappingRegionsAreRefused) {
    auto m = build({fake(0x1000, 0x1000, 0x100000, kHostA)});
    EXPECT_FALSE(m->with_region(fake(0x1fff, 0x10, 0x900000, kHostB)));    // gpa overlap
    EXPECT_FALSE(m->with_region(fake(0x0, 0x1001, 0x900000, kHostB)));     // gpa overlap
    EXPECT_FALSE(m->with_region(fake(0x9000, 0x1000, 0x100800, kHostB)));  // uva overlap
    EXPECT_TRUE(m->with_region(fake(0x2000, 0x1000, 0x101000, kHostB)));   // adjacent: fine
}

TEST(GuestMemory, OffersAtLeast509SlotsAndNoMore) {
    auto m = std::make_shared<const MemoryMap>();
    for (uint32_t i = 0; i < kMaxRegions; ++i) {
        auto next =
            m->with_region(fake(uint64_t{i} << 20, 1 << 20, (uint64_t{i} + 1) << 32, kHostA));
        ASSERT_TRUE(next) << i;
        m = *next;
    }
    EXPECT_GE(m->region_count(), 509u);
    auto over = m->with_region(fake(uint64_t{kMaxRegions} << 20, 1 << 20, 1ull << 50, kHostA));
    ASSERT_FALSE(over);
    EXPECT_EQ(over.error(), ENOSPC);
    // Lookups still land in the right region among hundreds.
    EXPECT_EQ(m->translate_gpa((300ull << 20) + 5, 1), reinterpret_cast<uint8_t*>(kHostA + 5));
}

TEST(GuestMemory, RemovalKeepsOldSnapshotsUsable) {
    const long page = sysconf(_SC_PAGESIZE);
    const int fd = memfd_create("guest-memory-test", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 4 * page), 0);
    GuestRegion d{0x100000, static_cast<uint64_t>(2 * page), 0x5000000,
                  static_cast<uint64_t>(page)};
    auto region = map_region(d, fd);
    ASSERT_TRUE(region);
    close(fd);
    auto m = build({*region});
    region->reset();
    uint8_t* p = m->translate_gpa(0x100000, 16);
    ASSERT_NE(p, nullptr);
    p[0] = 42;
    auto without =
        m->without_region(GuestRegion{0x100000, static_cast<uint64_t>(2 * page), 0x5000000, 0});
    ASSERT_TRUE(without);
    EXPECT_EQ((*without)->translate_gpa(0x100000, 16), nullptr);
    EXPECT_EQ(p[0], 42);  // the old snapshot still maps it
    EXPECT_FALSE(m->without_region(GuestRegion{0x200000, 4096, 0, 0}));
}

TEST(GuestMemory, MapRegionRefusesBadFdsAndRegions) {
    EXPECT_FALSE(map_region(GuestRegion{0, 4096, 0, 0}, -1));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    EXPECT_FALSE(map_region(GuestRegion{0, 4096, 0, 0}, p[0]));
    close(p[0]);
    close(p[1]);
    EXPECT_FALSE(map_region(GuestRegion{0, 4096, 0, ~0ull - 10}, 0));
}

// A file shorter than the region claims would be mapped, and the first guest buffer past
// its end would kill the daemon with SIGBUS: it is refused up front.
TEST(GuestMemory, MapRegionRefusesFdShorterThanRegion) {
    const long page = sysconf(_SC_PAGESIZE);
    const int fd = memfd_create("guest-memory-short", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 4096), 0);
    auto big = map_region(GuestRegion{0, 1 << 20, 0x5000000, 0}, fd);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error(), EINVAL);
    // The offset counts: offset + size must fit, not size alone.
    ASSERT_EQ(ftruncate(fd, 2 * page), 0);
    EXPECT_FALSE(map_region(
        GuestRegion{0, static_cast<uint64_t>(2 * page), 0x5000000, static_cast<uint64_t>(page)},
        fd));
    // Exactly long enough is fine.
    EXPECT_TRUE(map_region(
        GuestRegion{0, static_cast<uint64_t>(page), 0x5000000, static_cast<uint64_t>(page)}, fd));
    close(fd);
}

// A shared-memory (DAX) mapping the front-end reports as memory is recorded, never
// translated into, and REM_MEM_REG still finds it.
TEST(GuestMemory, UnmappedRegionIsRecordedButNeverTranslated) {
    auto m = build({fake(0x1000, 0x2000, 0x7f0000001000, kHostA)});
    const GuestRegion window{0x100000000, 0x200000, 0x7f1000000000, 0x400000};
    auto next = m->with_unmapped_region(window);
    ASSERT_TRUE(next);
    EXPECT_EQ((*next)->region_count(), 2u);
    EXPECT_EQ((*next)->translate_gpa(0x100000000, 1), nullptr);
    EXPECT_EQ((*next)->translate_gpa(0x100000000 + 0x1000, 8), nullptr);
    EXPECT_EQ((*next)->translate_uva(0x7f1000000000, 1), nullptr);
    EXPECT_EQ((*next)->translate_gpa(0x1000, 1), reinterpret_cast<uint8_t*>(kHostA));
    // Overlaps with guest RAM are refused as for any region.
    EXPECT_FALSE(m->with_unmapped_region(GuestRegion{0x2000, 0x1000, 0x7f2000000000, 0}));
    EXPECT_FALSE(m->with_unmapped_region(GuestRegion{0x5000, 0, 0x7f2000000000, 0}));
    auto removed = (*next)->without_region(window);
    ASSERT_TRUE(removed);
    EXPECT_EQ((*removed)->region_count(), 1u);
}

// The files mapped into a window are known by identity, counted per mapping.
TEST(WindowFiles, HoldsAFileWhileAnyMappingOfItLives) {
    char path[] = "/tmp/vfs-window-files-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::unlink(path);
    FileId id;
    ASSERT_TRUE(file_id_of(fd, &id));
    WindowFiles files;
    EXPECT_FALSE(files.holds(fd));
    files.add(id);
    files.add(id);
    EXPECT_TRUE(files.holds(fd));
    files.remove(id);
    EXPECT_TRUE(files.holds(fd));
    files.remove(id);
    EXPECT_FALSE(files.holds(fd));
    EXPECT_FALSE(files.holds(-1));
    ::close(fd);
}

}  // namespace
}  // namespace vfs::host::memory
