// One file write under DAX, after Linux fs/fuse/dax.c (its "file extending write" rule):
// a write that ends inside the size we know is stored through the window; a write that
// would extend the file goes to the server whole, as FUSE WRITE.
//
// Why not grow the file first and store through the window: the window only maps pages
// the host file holds (QEMU 11.1 refuses a SHMEM_MAP past EOF, FALLOCATE KEEP_SIZE does
// not change that), so every growing write would cost a SETATTR and a SETUPMAPPING of the
// longer range, two round trips and a host mmap. Growing in bigger steps ahead of the data
// would let the host see a longer file, zero-filled, until we cut it back: a reader or
// appender on the host would see or write past bytes we have not written. One FUSE WRITE
// is one round trip, and the host's size is the true one after every write.
#pragma once

#include <stdint.h>

#include "lib/ukfuse/dax_manager.h"
#include "vfs/wire/result.h"

namespace vfs::guest::ukfuse {

// The FUSE WRITE a DAX write uses for what the window does not take (Session::write on
// the file's handle in the guest; a stub in tests).
class DaxFuseWriter {
  public:
    virtual wire::Result<uint64_t> fuse_write(uint64_t off, const void* buf, uint64_t len) = 0;

  protected:
    ~DaxFuseWriter() = default;
};

// Writes [off, off + len) of nodeid's file; returns the count written or the first error
// when nothing was. *size is the file's size as we know it (another writer may have grown
// it since; nothing may have shrunk it) and becomes the size after this write. A window
// access that fails or stops short (no range free, the file's last partial page) is
// finished over FUSE.
wire::Result<uint64_t> dax_file_write(DaxManager& dax, DaxFuseWriter& fuse, uint64_t nodeid,
                                      uint64_t off, const void* buf, uint64_t len, uint64_t* size);

}  // namespace vfs::guest::ukfuse
