// Where each share is mounted: an absolute path prefix and the ukfuse Session serving it.
// Lookups pick the longest prefix that ends at a component boundary. Fixed size; mounts
// allocate their Session once, at mount time.
#pragma once

#include <stdint.h>

#include "lib/ukfuse/session.h"

namespace vfs::guest::p9 {
class Client;
}

namespace vfs::guest::vfslib {

inline constexpr int kMaxMounts = 8;
inline constexpr uint32_t kMountPathMax = 63;

struct Mount {
    bool used = false;
    char path[kMountPathMax + 1] = {};  // normalised: "/x/y", no trailing slash
    uint32_t path_len = 0;
    ukfuse::Session* session = nullptr;
    p9::Client* p9 = nullptr;  // a 9p mount instead (backend_9p.h); session is then null
    uint32_t open_files = 0;
};

// The mount serving `path` and, in *rest, the part of path below its mount point.
Mount* mount_for(const char* path, const char** rest);
Mount* mount_at(const char* path);  // exact mount point
Mount* mount_slot();                // a free entry, or nullptr

}  // namespace vfs::guest::vfslib
