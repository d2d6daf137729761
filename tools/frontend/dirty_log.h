// The front-end's half of a migration's dirty-page log, as QEMU keeps it: a memfd bitmap,
// one bit per 4 KiB page of guest-physical address, handed to the backend with
// SET_LOG_BASE (LOG_SHMFD), which sets a bit for every page it writes while VHOST_F_LOG_ALL
// is acked. Tests read the bits to see what the backend marked.
#pragma once

#include <stdint.h>

#include <memory>
#include <vector>

#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::frontend {

class DirtyBitmap {
  public:
    static constexpr uint64_t kPage = 4096;

    // A bitmap covering guest-physical [0, guest_bytes), in whole 64-bit words as QEMU
    // sizes it.
    static vfs::wire::Result<std::unique_ptr<DirtyBitmap>> create(uint64_t guest_bytes);
    ~DirtyBitmap();
    DirtyBitmap(const DirtyBitmap&) = delete;
    DirtyBitmap& operator=(const DirtyBitmap&) = delete;

    int fd() const { return fd_.get(); }
    uint64_t size() const { return size_; }
    // Whether the page holding gpa is marked.
    bool dirty(uint64_t gpa) const;
    // Marked pages in all, and their numbers (gpa / kPage) in order.
    uint64_t count() const;
    std::vector<uint64_t> pages() const;
    // Clears every bit, as QEMU's sync does (an atomic exchange per word).
    void clear();

  private:
    DirtyBitmap() = default;
    vfs::host::UniqueFd fd_;
    uint64_t* words_ = nullptr;
    uint64_t size_ = 0;
};

}  // namespace vfs::frontend
