// What the bench app calls the backend behind a mount point, for its JSON lines:
// "virtio-fs", "virtio-fs-dax" or "9p" over lib/vfs (backend_name.cpp), "native" in bench-native,
// whose vfs calls are plain syscalls on a host directory (guest/hosted/native_vfs.cpp).
#pragma once

namespace vfs::guest::bench {

const char* backend_name(const char* mount);

}  // namespace vfs::guest::bench
