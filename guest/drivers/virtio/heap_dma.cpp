// Heap-backed DMA memory (see heap_dma.h).
#include "drivers/virtio/heap_dma.h"

#include "kernel/heap.h"

namespace vfs::guest::virtio {

void* HeapDma::allocate_zeroed(size_t size, size_t align) {
    return heap_allocate_zeroed(size, align);
}

void HeapDma::release(void* p) {
    heap_free(p);
}

}  // namespace vfs::guest::virtio
