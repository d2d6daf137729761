#include "fs/read_only_fs.h"

#include <fcntl.h>

namespace vfs::host {

Result<fuse_open_out> ReadOnlyFs::open(const RequestContext& ctx, uint64_t nodeid, uint32_t flags) {
    // Every open handle is read-only, so the WRITE path can never find a writable fd.
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) return Error{EROFS};
    return inner_->open(ctx, nodeid, flags);
}

Result<DataFile> ReadOnlyFs::data_file(uint64_t fh, DataAccess access) {
    if (access == DataAccess::kWrite || access == DataAccess::kAllocate) return Error{EROFS};
    return inner_->data_file(fh, access);
}

}  // namespace vfs::host
