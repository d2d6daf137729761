// DAX: the pages that stand in the window for the page holding a file's EOF.
//
// QEMU 11.1.3 cannot map a file's last page unless the file fills it (see
// dax_coverage.h), yet the guest reads and stores the bytes of that page below EOF through
// the window. A tail page is a page of one memfd, made before the sandbox, that QEMU maps
// there instead: it holds a copy of the file's bytes (zeros past EOF). The copy is kept
// right at the points where FUSE itself syncs: the guest's stores are written back to the
// file before a FLUSH, FSYNC, RELEASE, SETATTR or WRITE of the file, on REMOVEMAPPING and
// when the mappings are dropped; the file's bytes are loaded again after an OPEN (close to
// open, as cache=auto), a SETATTR, and whenever the file's size changed. Only bytes the
// guest changed since the last load are written back (the page against its snapshot), and
// only below the file's current EOF, so a store past EOF never reaches the file and a host
// change the guest did not overwrite is not undone.
//
// Not thread-safe: DaxMappings serializes every call.
#pragma once

#include <stdint.h>

#include <vector>

#include "memory/window_files.h"

namespace vfs::host {

class DaxTailPages {
  public:
    static constexpr uint64_t kPage = 4096;

    // A memfd of count pages; ok() is false if it could not be made.
    explicit DaxTailPages(uint32_t count);
    ~DaxTailPages();
    DaxTailPages(const DaxTailPages&) = delete;
    DaxTailPages& operator=(const DaxTailPages&) = delete;

    bool ok() const { return view_ != nullptr; }
    int fd() const { return fd_; }
    const memory::FileId& id() const { return id_; }
    uint32_t free_pages() const { return static_cast<uint32_t>(free_.size()); }

    // A free page's number, or -1 when every page is in use.
    int take();
    void give(int page);
    // The page's offset in the memfd (what the front-end maps).
    static uint64_t offset_of(int page) { return static_cast<uint64_t>(page) * kPage; }

    // Fills the page with the file's bytes at foffset (zeros past EOF) and remembers them
    // as the snapshot write_back() compares with. False if the file cannot be read.
    bool load(int page, int file_fd, uint64_t foffset);
    // Writes the bytes the guest changed since load() and below the file's EOF to the file.
    // How many it wrote, or -1 if fstat or a write failed.
    int64_t write_back(int page, int file_fd, uint64_t foffset);

    // The page as the guest sees it (tests).
    uint8_t* view(int page) { return view_ + offset_of(page); }

  private:
    int fd_ = -1;
    memory::FileId id_;
    uint8_t* view_ = nullptr;
    uint32_t count_ = 0;
    std::vector<uint8_t> snapshot_;  // count_ pages: what load() put there
    std::vector<int> free_;
};

}  // namespace vfs::host
