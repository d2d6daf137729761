// File data through a mount's DAX window (ukfuse::DaxManager): what vfs_pread/vfs_pwrite
// do first when DAX is on. Accesses stay inside the file's size: a read is clamped to it
// (asking the server again when it would pass the size we know, in case another writer
// grew the file); a write that would extend the file goes as FUSE WRITE, as Linux's
// (ukfuse/dax_file_write.h says why), and writes inside it through the window. Whatever
// the window cannot serve (no free range, a refused mapping) is left to FUSE READ/WRITE.
#pragma once

#include <stdint.h>

#include "lib/vfs/fd_table.h"

namespace vfs::guest::vfslib {

// The caller must use FUSE READ/WRITE for the whole call.
inline constexpr int64_t kDaxNotServed = INT64_MIN;

// Bytes done (0 at EOF), a negative errno, or kDaxNotServed. A partial window transfer is
// completed over FUSE here.
int64_t dax_pread(OpenFile* f, void* buf, uint64_t len, uint64_t off);
int64_t dax_pwrite(OpenFile* f, const void* buf, uint64_t len, uint64_t off);

}  // namespace vfs::guest::vfslib
