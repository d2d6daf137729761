// The passthrough's xattr calls under --xattrmap: listing through the map.
#pragma once

#include <cstddef>

#include "fs/xattr_map.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// flistxattr(2) of fd as the guest sees it through `map`. With cap == 0 the size the
// mapped list needs (the probe a guest sends first); ERANGE when cap is too small.
vfs::wire::Result<size_t> mapped_listxattr(int fd, const XattrMap& map, char* buf, size_t cap);

}  // namespace vfs::host
