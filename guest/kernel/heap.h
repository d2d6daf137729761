// The kernel heap: one HeapAllocator over the RAM that the PVH memory map reports above
// the kernel image and below 4 GiB (the part boot.S identity-maps). Memory is
// identity-mapped, so a heap pointer is also the guest-physical address a device uses.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vfs::guest {

struct RamRange {
    uint64_t base;
    uint64_t size;
};

// Adds the usable parts of `ram` (those above `reserved_end`, below 4 GiB) to the heap.
void heap_init(const RamRange* ram, size_t count, uint64_t reserved_end);

void* heap_allocate(size_t size, size_t align);
void* heap_allocate_zeroed(size_t size, size_t align);
void heap_free(void* p);  // panics on a pointer the heap did not hand out
size_t heap_free_bytes();

}  // namespace vfs::guest
