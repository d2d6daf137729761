// The DAX window as the DAX manager sees it: a base pointer, a size, and the two FUSE
// requests that change what the window shows. A ukfuse Session implements it over a
// device's shared-memory region (dax_fuse_window.h); unit tests implement it with a stub.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::ukfuse {

// FUSE_REMOVEMAPPING_MAX_ENTRY in Linux: one page of fuse_removemapping_one.
inline constexpr uint32_t kMaxRemoveMappingBatch = 4096 / sizeof(fuse_removemapping_one);

// The fh SETUPMAPPING carries for "no handle": the server maps the node's inode, opened
// as the mapping needs (Linux sends this; a handle opened write-only could not be mapped).
inline constexpr uint64_t kDaxInodeFh = UINT64_MAX;

class DaxWindow {
  public:
    virtual uint8_t* base() = 0;
    virtual uint64_t size() const = 0;
    // FUSE_SETUPMAPPING: [foffset, foffset + len) of nodeid's file at window offset moffset,
    // read-only or read-write. Replaces whatever was mapped there before.
    virtual wire::Status map(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len,
                             uint64_t moffset, bool write) = 0;
    // FUSE_REMOVEMAPPING of count ranges of nodeid's file (count <= kMaxRemoveMappingBatch),
    // in one request. Linux sends one per inode; so do we.
    virtual wire::Status unmap(uint64_t nodeid, const fuse_removemapping_one* ranges,
                               uint32_t count) = 0;

  protected:
    ~DaxWindow() = default;
};

}  // namespace vfs::guest::ukfuse
