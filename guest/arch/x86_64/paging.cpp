// 4-level x86_64 page-table walker for identity mappings (see paging.h).
#include "arch/x86_64/paging.h"

#include "arch/x86_64/cpu.h"
#include "kernel/heap.h"
#include "vfs/wire/checked.h"

extern "C" uint64_t boot_pml4[512];

namespace vfs::guest::paging {
namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kWriteThrough = 1ull << 3;
constexpr uint64_t kCacheDisable = 1ull << 4;
constexpr uint64_t kLarge = 1ull << 7;
constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;
constexpr uint64_t kPage = 4096, kLargePage = 2ull << 20;
constexpr uint64_t kMaxPhys = 1ull << 46;  // identity map must stay in the lower half

uint64_t caching_bits(Caching c) {
    // PAT index 3 (PCD|PWT) is UC in the power-on PAT; index 0 is WB.
    return c == Caching::kUncached ? (kCacheDisable | kWriteThrough) : 0;
}

uint64_t* table_at(uint64_t entry) {
    return reinterpret_cast<uint64_t*>(entry & kAddrMask);
}

// Returns the next-level table under *entry, allocating an empty one if absent.
wire::Result<uint64_t*> next_table(uint64_t* entry) {
    if (*entry & kPresent) return table_at(*entry);
    void* t = heap_allocate_zeroed(kPage, kPage);
    if (!t) return wire::Error{ENOMEM};
    *entry = reinterpret_cast<uint64_t>(t) | kPresent | kWritable;
    return static_cast<uint64_t*>(t);
}

// Replaces a 2 MiB page by a table of 512 4 KiB pages with the same attributes.
wire::Result<uint64_t*> split_large(uint64_t* pde) {
    auto* pt = static_cast<uint64_t*>(heap_allocate_zeroed(kPage, kPage));
    if (!pt) return wire::Error{ENOMEM};
    const uint64_t base = *pde & kAddrMask & ~(kLargePage - 1);
    const uint64_t attrs = *pde & (kWritable | kWriteThrough | kCacheDisable | kPresent);
    for (uint64_t i = 0; i < 512; ++i)
        pt[i] = (base + i * kPage) | attrs;
    *pde = reinterpret_cast<uint64_t>(pt) | kPresent | kWritable;
    // Flush every translation of the old large page.
    for (uint64_t i = 0; i < 512; ++i)
        x86::invlpg(base + i * kPage);
    return pt;
}

wire::Status map_page(uint64_t addr, Caching caching) {
    uint64_t* pml4e = &boot_pml4[(addr >> 39) & 511];
    auto pdpt = next_table(pml4e);
    if (!pdpt) return wire::Error{pdpt.error()};
    uint64_t* pdpte = &(*pdpt)[(addr >> 30) & 511];
    if (*pdpte & kLarge) return wire::Error{EEXIST};  // we never create 1 GiB pages
    auto pd = next_table(pdpte);
    if (!pd) return wire::Error{pd.error()};
    uint64_t* pde = &(*pd)[(addr >> 21) & 511];
    wire::Result<uint64_t*> pt = (*pde & kLarge) ? split_large(pde) : next_table(pde);
    if (!pt) return wire::Error{pt.error()};
    (*pt)[(addr >> 12) & 511] = addr | kPresent | kWritable | caching_bits(caching);
    x86::invlpg(addr);
    return {};
}

// Maps the 2 MiB at addr (2 MiB-aligned) as one large page, unless a table of small
// pages is already there (false: the caller maps 4 KiB pages instead). A large window
// then costs one entry per 2 MiB rather than a page table.
wire::Result<bool> map_large(uint64_t addr, Caching caching) {
    uint64_t* pml4e = &boot_pml4[(addr >> 39) & 511];
    auto pdpt = next_table(pml4e);
    if (!pdpt) return wire::Error{pdpt.error()};
    uint64_t* pdpte = &(*pdpt)[(addr >> 30) & 511];
    if (*pdpte & kLarge) return wire::Error{EEXIST};
    auto pd = next_table(pdpte);
    if (!pd) return wire::Error{pd.error()};
    uint64_t* pde = &(*pd)[(addr >> 21) & 511];
    if ((*pde & kPresent) && !(*pde & kLarge)) return false;
    *pde = addr | kPresent | kWritable | kLarge | caching_bits(caching);
    x86::invlpg(addr);
    return true;
}

}  // namespace

wire::Status map_identity(uint64_t phys, uint64_t size, Caching caching) {
    if (size == 0) return {};
    uint64_t end = 0;
    if (!wire::checked_add(phys, size, &end) || end > kMaxPhys) return wire::Error{ERANGE};
    if (!wire::align_up(end, kPage, &end)) return wire::Error{ERANGE};
    for (uint64_t a = phys & ~(kPage - 1); a < end;) {
        if ((a & (kLargePage - 1)) == 0 && end - a >= kLargePage) {
            auto large = map_large(a, caching);
            if (!large) return wire::Error{large.error()};
            if (*large) {
                a += kLargePage;
                continue;
            }
        }
        wire::Status s = map_page(a, caching);
        if (!s) return s;
        a += kPage;
    }
    return {};
}

}  // namespace vfs::guest::paging
