// The global kernel heap (see heap.h).
#include "kernel/heap.h"

#include "kernel/heap_allocator.h"
#include "kernel/panic.h"

namespace vfs::guest {
namespace {
HeapAllocator g_heap;
constexpr uint64_t kIdentityMapEnd = 4ull << 30;
}  // namespace

void heap_init(const RamRange* ram, size_t count, uint64_t reserved_end) {
    for (size_t i = 0; i < count; ++i) {
        uint64_t start = ram[i].base, end = ram[i].base + ram[i].size;
        if (start < reserved_end) start = reserved_end;
        if (end > kIdentityMapEnd) end = kIdentityMapEnd;
        if (end > start) g_heap.add_region(reinterpret_cast<void*>(start), end - start);
    }
}

void* heap_allocate(size_t size, size_t align) {
    return g_heap.allocate(size, align);
}

void* heap_allocate_zeroed(size_t size, size_t align) {
    void* p = g_heap.allocate(size, align);
    if (p) __builtin_memset(p, 0, size);
    return p;
}

void heap_free(void* p) {
    if (!g_heap.free(p)) panic("heap_free: bad pointer %p", p);
}

size_t heap_free_bytes() {
    return g_heap.free_bytes();
}

}  // namespace vfs::guest
