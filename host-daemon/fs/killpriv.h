// Clearing suid/sgid for KILLPRIV_V2 (--killpriv-v2).
//
// The guest flags writes, truncates and O_TRUNC opens by callers without CAP_FSETID; the
// daemon runs as root, which has CAP_FSETID, so the host kernel would keep the bits and
// an unprivileged guest user could plant a suid binary. We clear them ourselves.
#pragma once

#include <errno.h>
#include <sys/stat.h>

namespace vfs::host {

// Drops suid, and sgid where it means "set group id" (group-exec set; without it sgid is
// the mandatory-locking mark and stays), on the open file `fd`. 0, or the errno of a
// failed fchmod: on a network file system that maps root to nobody (NFS root_squash) the
// daemon cannot change another user's mode, and the caller must then not write.
inline int kill_suid_sgid(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return 0;
    mode_t clear = S_ISUID;
    if (st.st_mode & S_IXGRP) clear |= S_ISGID;
    if ((st.st_mode & clear) && fchmod(fd, st.st_mode & 07777 & ~clear) != 0) return errno;
    return 0;
}

// FUSE_SETXATTR_ACL_KILL_SGID: the guest kernel found the setter of an access ACL outside
// the file's group and without CAP_FSETID, where posix_acl_update_mode drops S_ISGID
// (whatever the group-exec bit). The host kernel sees the root daemon, which passes that
// check, so the bit is cleared here after the ACL is set. The guest's verdict is taken
// rather than switching to the caller's ids as virtiofsd does: the host would check the
// daemon's supplementary groups, not the guest caller's. The chmod rewrites the ACL's
// owner, group (mask) and other entries from the same mode, which leaves them as set.
inline int kill_sgid_after_acl(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return errno;
    if ((st.st_mode & S_ISGID) && fchmod(fd, st.st_mode & 07777 & ~S_ISGID) != 0) return errno;
    return 0;
}

}  // namespace vfs::host
