// Clearing suid/sgid for KILLPRIV_V2 (--killpriv-v2).
//
// The guest flags writes, truncates and O_TRUNC opens by callers without CAP_FSETID; the
// daemon runs as root, which has CAP_FSETID, so the host kernel would keep the bits and
// an unprivileged guest user could plant a suid binary. We clear them ourselves.
#pragma once

#include <sys/stat.h>

namespace vfs::host {

// Drops suid, and sgid where it means "set group id" (group-exec set; without it sgid is
// the mandatory-locking mark and stays), on the open file `fd`.
inline void kill_suid_sgid(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    mode_t clear = S_ISUID;
    if (st.st_mode & S_IXGRP) clear |= S_ISGID;
    if (st.st_mode & clear) fchmod(fd, st.st_mode & 07777 & ~clear);
}

}  // namespace vfs::host
