// The device registry (see device_registry.h).
#include "lib/vfs/device_registry.h"

#include "lib/vfs/backend_9p.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {
namespace {

virtio_fs::FsDevice* g_devices[kMaxDevices];
int g_count = 0;

bool same(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

}  // namespace

wire::Status register_device(virtio_fs::FsDevice* dev) {
    if (!dev) return wire::Error{EINVAL};
    if (find_device(dev->tag())) return wire::Error{EEXIST};
    if (g_count == kMaxDevices) return wire::Error{ENOSPC};
    g_devices[g_count++] = dev;
    return {};
}

virtio_fs::FsDevice* find_device(const char* tag) {
    for (int i = 0; i < g_count; ++i) {
        if (same(g_devices[i]->tag(), tag)) return g_devices[i];
    }
    return nullptr;
}

int device_count() {
    return g_count;
}

virtio_fs::FsDevice* device_at(int i) {
    return i >= 0 && i < g_count ? g_devices[i] : nullptr;
}

}  // namespace vfs::guest::vfslib

// Buffers come from the first device's DMA memory: in the unikernel that is the heap,
// in the hosted build the guest memory every device shares.
extern "C" void* vfs_buffer_alloc(uint64_t len) {
    auto* dev = vfs::guest::vfslib::device_at(0);
    if (len == 0) return nullptr;
    if (!dev) {  // 9p devices only
        auto* dma = vfs::guest::vfslib::p9_dma();
        return dma ? dma->allocate_zeroed(len, 64) : nullptr;
    }
    return dev->dma().allocate_zeroed(len, 64);
}

extern "C" void vfs_buffer_free(void* p) {
    auto* dev = vfs::guest::vfslib::device_at(0);
    if (!dev && p) {
        if (auto* dma = vfs::guest::vfslib::p9_dma()) dma->release(p);
    }
    if (dev && p) dev->dma().release(p);
}
