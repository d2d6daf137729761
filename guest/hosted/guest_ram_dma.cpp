// Guest-memory DMA for the hosted build (see guest_ram_dma.h).
#include "guest_ram_dma.h"

namespace vfs::guest::hosted {

void* GuestRamDma::allocate_zeroed(size_t size, size_t align) {
    if (align > frontend::GuestRam::kPage || size == 0) return nullptr;  // pages are aligned
    auto b = ram_.allocate(size);
    if (!b) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    live_[b->ptr] = *b;
    return b->ptr;
}

void GuestRamDma::release(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;
    ram_.release(it->second);
    live_.erase(it);
}

uint64_t GuestRamDma::device_address(const void* p) {
    return static_cast<uint64_t>(static_cast<const uint8_t*>(p) - ram_.base());
}

bool GuestRamDma::can_reach(const void* p, size_t len) {
    const auto* b = static_cast<const uint8_t*>(p);
    return b >= ram_.base() && len <= ram_.size() &&
           static_cast<uint64_t>(b - ram_.base()) <= ram_.size() - len;
}

}  // namespace vfs::guest::hosted
