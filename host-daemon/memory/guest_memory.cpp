#include "memory/guest_memory.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vfs::host::memory {

using vfs::wire::range_within;

MappedRegion::~MappedRegion() {
    if (map_base_) ::munmap(map_base_, map_len_);
}

Result<std::shared_ptr<const MappedRegion>> map_region(const GuestRegion& desc, int fd) {
    if (!is_valid(desc) || fd < 0) return Error{EINVAL};
    // Map from offset 0 so the offset need not be page-aligned; is_valid() has checked
    // that mmap_offset + memory_size does not wrap.
    const uint64_t map_len = desc.mmap_offset + desc.memory_size;
    if (map_len > SIZE_MAX) return Error{EINVAL};
    // mmap happily maps past the end of a file, and the first guest buffer there would
    // kill the daemon with SIGBUS; so a regular file (memfd, tmpfs, hugetlbfs are all
    // S_ISREG) must already cover the whole region. Other fd types have no meaningful
    // st_size and are left to mmap, which refuses pipes and sockets.
    // Not defended against: a front-end that shrinks the file after this check (QEMU seals
    // nothing, so F_SEAL_SHRINK cannot be required); that still raises SIGBUS.
    struct stat st;
    if (::fstat(fd, &st) != 0) return Error{errno};
    if (S_ISREG(st.st_mode) && (st.st_size < 0 || static_cast<uint64_t>(st.st_size) < map_len)) {
        spdlog::error(
            "guest memory: region fd holds {} bytes, the region needs {} (offset {:#x} + "
            "size {:#x})",
            st.st_size, map_len, desc.mmap_offset, desc.memory_size);
        return Error{EINVAL};
    }
    void* base =
        ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (base == MAP_FAILED) return Error{errno};
    auto* host = static_cast<uint8_t*>(base) + desc.mmap_offset;
    return std::shared_ptr<const MappedRegion>(
        std::make_shared<MappedRegion>(desc, host, base, map_len));
}

uint8_t* MemoryMap::translate_gpa(uint64_t gpa, uint64_t len) const {
    if (len == 0) return nullptr;
    // The last region starting at or below gpa is the only one that can hold it.
    auto it = std::upper_bound(by_gpa_.begin(), by_gpa_.end(), gpa, [](uint64_t a, const auto& r) {
        return a < r->desc().guest_phys_addr;
    });
    if (it == by_gpa_.begin()) return nullptr;
    const MappedRegion& r = **(it - 1);
    if (!r.host()) return nullptr;  // recorded, not mapped
    if (!range_within(gpa, len, r.desc().guest_phys_addr, r.desc().memory_size)) return nullptr;
    return r.host() + (gpa - r.desc().guest_phys_addr);
}

uint8_t* MemoryMap::translate_uva(uint64_t uva, uint64_t len) const {
    if (len == 0) return nullptr;
    // Only ring set-up uses this, a few times per queue start: a linear scan is fine.
    for (const auto& r : by_gpa_) {
        if (r->host() && range_within(uva, len, r->desc().userspace_addr, r->desc().memory_size))
            return r->host() + (uva - r->desc().userspace_addr);
    }
    return nullptr;
}

bool MemoryMap::gpa_of(const uint8_t* p, uint64_t len, uint64_t* gpa) const {
    if (len == 0) return false;
    const auto at = reinterpret_cast<uintptr_t>(p);
    for (const auto& r : by_gpa_) {
        const auto base = reinterpret_cast<uintptr_t>(r->host());
        if (r->host() && range_within(at, len, base, r->desc().memory_size)) {
            *gpa = r->desc().guest_phys_addr + (at - base);
            return true;
        }
    }
    return false;
}

namespace {

// Two inclusive-end ranges overlap; sizes are non-zero and ends do not wrap (is_valid).
bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) {
    return a <= b + (b_size - 1) && b <= a + (a_size - 1);
}

}  // namespace

Result<std::shared_ptr<const MemoryMap>> MemoryMap::with_region(
    std::shared_ptr<const MappedRegion> region) const {
    const GuestRegion& d = region->desc();
    if (!is_valid(d)) return Error{EINVAL};
    if (by_gpa_.size() >= kMaxRegions) return Error{ENOSPC};
    for (const auto& r : by_gpa_) {
        const GuestRegion& o = r->desc();
        if (overlaps(d.guest_phys_addr, d.memory_size, o.guest_phys_addr, o.memory_size) ||
            overlaps(d.userspace_addr, d.memory_size, o.userspace_addr, o.memory_size))
            return Error{EINVAL};
    }
    auto next = std::make_shared<MemoryMap>(*this);
    auto pos =
        std::upper_bound(next->by_gpa_.begin(), next->by_gpa_.end(), d.guest_phys_addr,
                         [](uint64_t a, const auto& r) { return a < r->desc().guest_phys_addr; });
    next->by_gpa_.insert(pos, std::move(region));
    return std::shared_ptr<const MemoryMap>(std::move(next));
}

Result<std::shared_ptr<const MemoryMap>> MemoryMap::with_unmapped_region(
    const GuestRegion& desc) const {
    if (!is_valid(desc)) return Error{EINVAL};
    return with_region(std::make_shared<const MappedRegion>(desc, nullptr, nullptr, 0));
}

Result<std::shared_ptr<const MemoryMap>> MemoryMap::without_region(const GuestRegion& desc) const {
    auto next = std::make_shared<MemoryMap>(*this);
    auto it = std::find_if(next->by_gpa_.begin(), next->by_gpa_.end(), [&](const auto& r) {
        const GuestRegion& o = r->desc();
        return o.guest_phys_addr == desc.guest_phys_addr &&
               o.userspace_addr == desc.userspace_addr && o.memory_size == desc.memory_size;
    });
    if (it == next->by_gpa_.end()) return Error{ENOENT};
    next->by_gpa_.erase(it);
    return std::shared_ptr<const MemoryMap>(std::move(next));
}

}  // namespace vfs::host::memory
