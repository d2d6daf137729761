// A first-fit free-list allocator over caller-supplied regions, with alignment, used by
// the kernel heap. Free blocks are kept in address order and merged with their
// neighbours on free. Pure logic with no kernel dependencies, so it is unit-tested on the
// host. Not thread-safe (the unikernel is single-threaded).
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vfs::guest {

class HeapAllocator {
  public:
    // Adds [base, base + size) as free memory; ignored if too small to hold a block.
    void add_region(void* base, size_t size);

    // nullptr when no free block fits. align must be a power of two (16 if smaller).
    void* allocate(size_t size, size_t align);

    // Returns false (and changes nothing) for a pointer this heap did not hand out
    // or one already freed.
    bool free(void* p);

    size_t free_bytes() const;
    size_t free_blocks() const;

  private:
    struct FreeBlock {
        size_t size;  // bytes, including this header
        FreeBlock* next;
    };
    void insert_free(uintptr_t addr, size_t size);

    FreeBlock* head_ = nullptr;
};

}  // namespace vfs::guest
