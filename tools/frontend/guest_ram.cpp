#include "guest_ram.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>

#include "vfs/wire/checked.h"

namespace vfs::frontend {

Result<std::unique_ptr<GuestRam>> GuestRam::create(uint64_t size, uint32_t regions) {
    if (size == 0 || size % kPage || regions == 0 || (size / regions) % kPage || size % regions)
        return Error{EINVAL};
    std::unique_ptr<GuestRam> ram(new GuestRam());
    ram->memfd_.reset(::memfd_create("vfs-frontend-guest-ram", MFD_CLOEXEC));
    if (!ram->memfd_.valid()) return Error{errno};
    if (::ftruncate(ram->memfd_.get(), static_cast<off_t>(size)) < 0) return Error{errno};
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, ram->memfd_.get(), 0);
    if (p == MAP_FAILED) return Error{errno};
    ram->base_ = static_cast<uint8_t*>(p);
    ram->size_ = size;
    const uint64_t per = size / regions;
    ram->region_pages_ = per / kPage;
    for (uint32_t i = 0; i < regions; ++i) {
        vfs::host::vhost_user::MemoryRegion r;
        r.guest_phys_addr = i * per;
        r.memory_size = per;
        r.userspace_addr = reinterpret_cast<uint64_t>(ram->base_) + i * per;
        r.mmap_offset = i * per;
        ram->regions_.push_back(r);
    }
    ram->used_.assign(size / kPage, false);
    return ram;
}

GuestRam::~GuestRam() {
    if (base_) ::munmap(base_, size_);
}

Result<GuestBuffer> GuestRam::allocate(uint64_t len) {
    if (len == 0) len = 1;
    const uint64_t pages = (len + kPage - 1) / kPage;
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t total = used_.size();
    if (pages > region_pages_) return Error{ENOMEM};
    // First fit from a rotating hint, restarting a run at every region boundary.
    for (uint64_t pass = 0; pass < 2; ++pass) {
        uint64_t start = pass == 0 ? hint_ : 0;
        const uint64_t end = pass == 0 ? total : hint_;
        uint64_t run = 0;
        for (uint64_t p = start; p < end; ++p) {
            if (p % region_pages_ == 0) run = 0;
            if (used_[p]) {
                run = 0;
                continue;
            }
            if (run == 0) start = p;
            if (++run == pages) {
                for (uint64_t q = start; q <= p; ++q)
                    used_[q] = true;
                hint_ = (p + 1) % total;
                GuestBuffer b{start * kPage, base_ + start * kPage, pages * kPage};
                memset(b.ptr, 0, b.len);
                return b;
            }
        }
    }
    return Error{ENOMEM};
}

void GuestRam::release(const GuestBuffer& b) {
    if (!b.ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t p = b.gpa / kPage; p < (b.gpa + b.len) / kPage && p < used_.size(); ++p)
        used_[p] = false;
}

uint8_t* GuestRam::at(uint64_t gpa, uint64_t len) const {
    if (!vfs::wire::range_within(gpa, len, 0, size_)) return nullptr;
    return base_ + gpa;
}

}  // namespace vfs::frontend
