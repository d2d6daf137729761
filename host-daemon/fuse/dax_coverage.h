// DAX: which part of a guest's mapping range the daemon can map, and what to add as the
// file grows.
//
// Linux (fs/fuse/dax.c) asks for whole 2 MiB ranges, past the end of the file too. QEMU
// 11.1.3 maps a range only if the file reaches its end, page-rounded
// (qemu_ram_alloc_from_fd: "backing store size ... is too small"), so it refuses the last
// range of every file whose size is not a multiple of 2 MiB, and the page holding EOF of
// every file whose size is not a page multiple. A range is therefore covered in pieces:
// the file's whole pages from the file itself, the page holding EOF from a tail page (a
// copy, see dax_tail_pages.h), and nothing past it. The guest touches a DAX page only
// below the i_size it learned from us, so before a reply can tell it a larger size, the
// newly reached pages are added (extend()). Coverage only grows: a shrunk file keeps its
// pieces, which is what the guest's stale view may still read.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace vfs::host {

struct DaxPiece {
    uint64_t offset = 0;  // from the range's start, in the file and in the window alike
    uint64_t len = 0;
    bool tail = false;  // one page served by a tail page, not by the file
};

class DaxCoverage {
  public:
    static constexpr uint64_t kPage = 4096;

    DaxCoverage() = default;
    // A range of len bytes (a page multiple) at file offset foffset (page aligned).
    DaxCoverage(uint64_t foffset, uint64_t len) : foffset_(foffset), len_(len) {}

    // The pieces to add so that every byte of the range below file_size is covered: at
    // most two, the file's whole pages and then the page holding EOF as a tail page.
    // Returns how many it wrote to out, and counts them as covered.
    size_t extend(uint64_t file_size, DaxPiece out[2]);

    uint64_t covered() const { return covered_; }
    bool complete() const { return covered_ == len_; }

  private:
    uint64_t foffset_ = 0;
    uint64_t len_ = 0;
    uint64_t covered_ = 0;  // bytes from the range's start that pieces cover, a page multiple
};

}  // namespace vfs::host
