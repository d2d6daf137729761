// DmaMemory for the hosted build: pages of the frontend's memfd guest memory, which is
// the only memory the vhost-user daemon can see. device_address is the guest-physical
// address; can_reach is false for anything else (the app's stack, malloc), so the driver
// refuses such a buffer (EFAULT) instead of handing the daemon an address it cannot map.
#pragma once

#include <mutex>
#include <unordered_map>

#include "drivers/virtio/transport.h"
#include "guest_ram.h"

namespace vfs::guest::hosted {

class GuestRamDma final : public virtio::DmaMemory {
  public:
    explicit GuestRamDma(frontend::GuestRam& ram) : ram_(ram) {}
    void* allocate_zeroed(size_t size, size_t align) override;
    void release(void* p) override;
    uint64_t device_address(const void* p) override;
    bool can_reach(const void* p, size_t len) override;

  private:
    frontend::GuestRam& ram_;
    std::mutex mu_;
    std::unordered_map<void*, frontend::GuestBuffer> live_;
};

}  // namespace vfs::guest::hosted
