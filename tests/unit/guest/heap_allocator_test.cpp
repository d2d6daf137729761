// The kernel heap allocator on host memory: alignment, splitting, merging, exhaustion
// and bad frees.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernel/heap_allocator.h"

namespace vfs::guest {
namespace {

struct Arena {
    alignas(4096) uint8_t bytes[1 << 20];
};

TEST(HeapAllocator, AllocatesAlignedNonOverlappingBlocks) {
    static Arena a;
    HeapAllocator h;
    h.add_region(a.bytes, sizeof(a.bytes));
    const size_t total = h.free_bytes();
    std::vector<std::pair<uint8_t*, size_t>> got;
    for (size_t align : {16u, 64u, 4096u, 16u, 8u, 2048u}) {
        for (size_t size : {1u, 24u, 100u, 4096u, 5000u}) {
            auto* p = static_cast<uint8_t*>(h.allocate(size, align));
            ASSERT_NE(p, nullptr);
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (align < 16 ? 16 : align), 0u);
            std::memset(p, 0xab, size);
            got.emplace_back(p, size);
        }
    }
    for (size_t i = 0; i < got.size(); ++i)
        for (size_t j = i + 1; j < got.size(); ++j)
            EXPECT_TRUE(got[i].first + got[i].second <= got[j].first ||
                        got[j].first + got[j].second <= got[i].first);
    for (auto& [p, n] : got)
        EXPECT_TRUE(h.free(p));
    EXPECT_EQ(h.free_bytes(), total);
    EXPECT_EQ(h.free_blocks(), 1u);  // everything merged back
}

TEST(HeapAllocator, ExhaustionAndBadFrees) {
    static Arena a;
    HeapAllocator h;
    h.add_region(a.bytes, 8192);
    void* p = h.allocate(4000, 16);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(h.allocate(8000, 16), nullptr);
    EXPECT_EQ(h.allocate(1, 1 << 20), nullptr);
    EXPECT_EQ(h.allocate(16, 3), nullptr);  // not a power of two
    EXPECT_TRUE(h.free(p));
    EXPECT_FALSE(h.free(p));                // double free
    std::memset(a.bytes + 6000, 0x5a, 64);  // no header there
    EXPECT_FALSE(h.free(a.bytes + 6016));
    EXPECT_NE(h.allocate(8000, 16), nullptr);
}

TEST(HeapAllocator, RandomAllocFreeKeepsAccounting) {
    static Arena a;
    HeapAllocator h;
    h.add_region(a.bytes + 3, sizeof(a.bytes) - 3);  // unaligned region start
    const size_t total = h.free_bytes();
    std::mt19937 rng(7);
    std::vector<void*> live;
    for (int i = 0; i < 20000; ++i) {
        if (live.empty() || rng() % 3 != 0) {
            void* p = h.allocate(rng() % 3000, size_t{1} << (rng() % 13));
            if (p) live.push_back(p);
        } else {
            const size_t k = rng() % live.size();
            ASSERT_TRUE(h.free(live[k]));
            live[k] = live.back();
            live.pop_back();
        }
    }
    for (void* p : live)
        ASSERT_TRUE(h.free(p));
    EXPECT_EQ(h.free_bytes(), total);
    EXPECT_EQ(h.free_blocks(), 1u);
}

}  // namespace
}  // namespace vfs::guest
