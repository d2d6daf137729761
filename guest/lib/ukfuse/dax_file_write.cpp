// DAX file writes: the window inside the file, FUSE WRITE for growth (see dax_file_write.h).
#include "lib/ukfuse/dax_file_write.h"

namespace vfs::guest::ukfuse {

wire::Result<uint64_t> dax_file_write(DaxManager& dax, DaxFuseWriter& fuse, uint64_t nodeid,
                                      uint64_t off, const void* buf, uint64_t len, uint64_t* size) {
    const auto* in = static_cast<const uint8_t*>(buf);
    uint64_t done = 0;
    if (off + len <= *size) {  // the caller has ruled out overflow
        auto r = dax.write(nodeid, kDaxInodeFh, off, in, len, *size);
        if (r) done = *r;
        if (done == len) return done;
    }
    auto rest = fuse.fuse_write(off + done, in + done, len - done);
    if (!rest) {
        if (done == 0) return wire::Error{rest.error()};
        return done;
    }
    done += *rest;
    if (off + done > *size) *size = off + done;
    return done;
}

}  // namespace vfs::guest::ukfuse
