// DmaMemory for the unikernel: the kernel heap, whose memory is identity-mapped, so a
// pointer is already the guest-physical address the device needs.
#pragma once

#include "drivers/virtio/transport.h"

namespace vfs::guest::virtio {

class HeapDma final : public DmaMemory {
  public:
    void* allocate_zeroed(size_t size, size_t align) override;
    void release(void* p) override;
    uint64_t device_address(const void* p) override { return reinterpret_cast<uintptr_t>(p); }
};

}  // namespace vfs::guest::virtio
