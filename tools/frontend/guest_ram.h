// Guest memory for the in-process frontend: one memfd, mapped shared in this process and
// handed to the backend as one or more vhost-user regions, plus a page allocator for ring
// and request buffers inside it.
//
// Guest-physical addresses start at 0 and are contiguous; when split into several
// regions, an allocation never straddles a region boundary (a device may refuse a buffer
// that is not wholly inside one region). It never lets a buffer escape the memfd.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <mutex>
#include <vector>

#include "util/unique_fd.h"
#include "vhost_user/messages.h"

namespace vfs::frontend {

using vfs::host::UniqueFd;
using vfs::wire::Error;
using vfs::wire::Result;
using vfs::wire::Status;

// A run of guest memory: its guest-physical address and where this process sees it.
struct GuestBuffer {
    uint64_t gpa = 0;
    uint8_t* ptr = nullptr;
    uint64_t len = 0;  // rounded up to whole pages
};

class GuestRam {
  public:
    static constexpr uint64_t kPage = 4096;

    // size and size / regions must be multiples of kPage.
    static Result<std::unique_ptr<GuestRam>> create(uint64_t size, uint32_t regions = 1);
    ~GuestRam();
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;

    int fd() const { return memfd_.get(); }
    uint64_t size() const { return size_; }
    uint8_t* base() const { return base_; }
    // The regions as SET_MEM_TABLE describes them (userspace_addr is our mapping).
    const std::vector<vfs::host::vhost_user::MemoryRegion>& regions() const { return regions_; }

    // A zeroed, page-aligned run of at least len bytes; ENOMEM if none is free.
    Result<GuestBuffer> allocate(uint64_t len);
    void release(const GuestBuffer& b);

    // This process's pointer for [gpa, gpa+len), or nullptr outside the memory.
    uint8_t* at(uint64_t gpa, uint64_t len) const;

  private:
    GuestRam() = default;

    UniqueFd memfd_;
    uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    uint64_t region_pages_ = 0;
    std::vector<vfs::host::vhost_user::MemoryRegion> regions_;
    std::mutex mu_;
    std::vector<bool> used_;  // one per page
    uint64_t hint_ = 0;
};

}  // namespace vfs::frontend
