// Open files and directories, by descriptor number. Each holds a pin on its node and
// its mount's open-file count, so neither goes away under it. A directory descriptor
// keeps one READDIR(PLUS) reply buffer (device-reachable, allocated the first time that
// descriptor number serves a directory, then reused) and where it stands in it.
#pragma once

#include <stdint.h>

#include "lib/vfs/mount_table.h"

namespace vfs::guest::vfslib {

inline constexpr int kMaxFds = 64;
inline constexpr uint32_t kDirBufBytes = 8192;

struct OpenFile {
    bool used = false;
    bool dir = false;
    Mount* mount = nullptr;
    uint64_t nodeid = 0;
    ukfuse::OpenHandle handle;
    int flags = 0;
    uint64_t pos = 0;
    uint32_t p9_fid = 0;  // on a 9p mount: the open fid
    // Directories.
    uint8_t* dir_buf = nullptr;
    uint32_t dir_len = 0, dir_pos = 0;
    uint64_t dir_off = 0;      // the offset to ask the next reply from
    uint64_t dir_req_off = 0;  // the offset the reply in dir_buf was asked from
    bool dir_eof = false;
};

// A free descriptor (marked used), or -EMFILE.
int fd_alloc();
OpenFile* fd_get(int fd);  // nullptr unless fd is open
void fd_free(int fd);

}  // namespace vfs::guest::vfslib
