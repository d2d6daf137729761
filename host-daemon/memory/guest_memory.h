// The daemon's view of guest memory: every region the front-end shared, mmapped once, and
// the translations from guest-physical addresses (descriptor buffers) and front-end
// virtual addresses (ring addresses) to pointers in this process.
//
// Its own layer: the vhost-user protocol fills it (SET_MEM_TABLE, ADD_MEM_REG) and the
// queue layer reads it, and neither depends on the other through it. It knows no wire
// format: the protocol layer turns each message's region into a GuestRegion.
//
// A MemoryMap is an immutable snapshot. Updates (SET_MEM_TABLE, ADD_MEM_REG, REM_MEM_REG)
// build a new snapshot; queue workers and in-flight requests keep the old one alive
// through shared_ptr, so a region is unmapped only when nothing can still touch it.
// Translation must never return a pointer unless the whole range [addr, addr+len) lies
// inside one region, with overflow-safe checks; it never allocates.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "vfs/wire/checked.h"
#include "vfs/wire/result.h"

namespace vfs::host::memory {

using vfs::wire::Error;
using vfs::wire::Result;

// One region of guest memory as the front-end describes it: where it sits in guest-physical
// space, in the front-end's address space, and at which offset of its fd.
struct GuestRegion {
    uint64_t guest_phys_addr = 0;
    uint64_t memory_size = 0;
    uint64_t userspace_addr = 0;
    uint64_t mmap_offset = 0;
};

// A region's three ranges must not wrap, and an empty region means nothing.
constexpr bool is_valid(const GuestRegion& r) {
    uint64_t end = 0;
    return r.memory_size != 0 &&
           vfs::wire::checked_add(r.guest_phys_addr, r.memory_size - 1, &end) &&
           vfs::wire::checked_add(r.userspace_addr, r.memory_size - 1, &end) &&
           vfs::wire::checked_add(r.mmap_offset, r.memory_size, &end);
}

// The most regions a map holds (QEMU wants at least 509 memory slots for hotplug).
inline constexpr uint32_t kMaxRegions = 509;

// One region as the front-end described it, plus where it sits in this process.
class MappedRegion {
  public:
    // Takes ownership of [map_base, map_base+map_len) (munmapped on destruction) when
    // map_base is non-null; host points at the region's first byte.
    MappedRegion(const GuestRegion& desc, uint8_t* host, void* map_base, uint64_t map_len)
        : desc_(desc), host_(host), map_base_(map_base), map_len_(map_len) {}
    ~MappedRegion();
    MappedRegion(const MappedRegion&) = delete;
    MappedRegion& operator=(const MappedRegion&) = delete;

    const GuestRegion& desc() const { return desc_; }
    // Null for a region recorded but not mapped (a shared-memory mapping, window_files.h).
    uint8_t* host() const { return host_; }

  private:
    GuestRegion desc_;
    uint8_t* host_;
    void* map_base_;
    uint64_t map_len_;
};

// mmaps a region from the fd the front-end sent (shared, read-write). The fd may be
// closed afterwards. EINVAL for a malformed region or a regular file shorter than
// mmap_offset + memory_size, or fstat's or mmap's errno.
Result<std::shared_ptr<const MappedRegion>> map_region(const GuestRegion& desc, int fd);

class MemoryMap {
  public:
    MemoryMap() = default;

    size_t region_count() const { return by_gpa_.size(); }
    const std::vector<std::shared_ptr<const MappedRegion>>& regions() const { return by_gpa_; }

    // The host pointer for guest-physical [gpa, gpa+len), or nullptr unless the whole
    // range lies in one region. len == 0 is refused.
    uint8_t* translate_gpa(uint64_t gpa, uint64_t len) const;
    // The same for a front-end virtual address (ring addresses in SET_VRING_ADDR).
    uint8_t* translate_uva(uint64_t uva, uint64_t len) const;
    // The way back, for the dirty log: the guest-physical address of host [p, p+len), or
    // false unless the whole range lies in one mapped region. A linear scan, used only
    // while a migration logs.
    bool gpa_of(const uint8_t* p, uint64_t len, uint64_t* gpa) const;

    // A copy with one more region. EINVAL if it overlaps an existing one in guest-physical
    // or front-end virtual space; ENOSPC past kMaxRegions.
    Result<std::shared_ptr<const MemoryMap>> with_region(
        std::shared_ptr<const MappedRegion> region) const;
    // A copy with a region that is recorded (it counts, overlaps are refused, REM_MEM_REG
    // finds it) but not mapped: no translation ever lands in it.
    Result<std::shared_ptr<const MemoryMap>> with_unmapped_region(const GuestRegion& desc) const;
    // A copy without the region matching desc (guest address, user address, size; the
    // mmap offset is ignored, as the spec says). ENOENT if there is none.
    Result<std::shared_ptr<const MemoryMap>> without_region(const GuestRegion& desc) const;

  private:
    std::vector<std::shared_ptr<const MappedRegion>> by_gpa_;  // sorted, disjoint
};

// The current snapshot, shared between the connection thread (which replaces it) and the
// queue workers (which pick it up when the generation changes, never per request).
class MemoryHandle {
  public:
    MemoryHandle() : map_(std::make_shared<const MemoryMap>()) {}

    std::shared_ptr<const MemoryMap> get() const {
        std::lock_guard<std::mutex> lock(mu_);
        return map_;
    }
    void set(std::shared_ptr<const MemoryMap> map) {
        std::lock_guard<std::mutex> lock(mu_);
        map_ = std::move(map);
        generation_.fetch_add(1, std::memory_order_release);
    }
    uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  private:
    mutable std::mutex mu_;
    std::shared_ptr<const MemoryMap> map_;
    std::atomic<uint64_t> generation_{0};
};

}  // namespace vfs::host::memory
