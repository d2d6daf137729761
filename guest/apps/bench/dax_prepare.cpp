// The bench's DAX preparation over the vfs library's mounts (see workloads.h).
#include <linux/errno.h>

#include "apps/bench/workloads.h"
#include "lib/vfs/fd_table.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::bench {

// Before the clock: size a write run's file (to 0 for kGrowFile), then map every range of
// it (kMapAll) or empty the window (kEmptyWindow, kGrowFile).
int dax_prepare(int fd, bool write, uint64_t bytes, DaxPrep prep) {
    vfslib::OpenFile* f = vfslib::fd_get(fd);
    ukfuse::DaxManager* dax = f && f->mount->session ? f->mount->session->dax() : nullptr;
    if (!dax) return -ENODEV;
    if (write) {
        const uint64_t size = prep == DaxPrep::kGrowFile ? 0 : bytes;
        if (int r = vfs_ftruncate(fd, static_cast<int64_t>(size)); r < 0) return r;
    }
    if (prep == DaxPrep::kEmptyWindow || prep == DaxPrep::kGrowFile) {
        auto s = dax->unmap_all();
        return s ? 0 : -s.error();
    }
    for (uint64_t off = 0; off < bytes; off += ukfuse::kDaxRangeSize) {
        uint64_t avail = 0;
        auto p = dax->access(f->nodeid, ukfuse::kDaxInodeFh, off, 1, write, bytes, &avail);
        if (!p) return -p.error();
    }
    return 0;
}

}  // namespace vfs::guest::bench
