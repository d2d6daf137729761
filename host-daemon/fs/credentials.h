// Per-request file-system credentials: files a guest creates belong to the guest's
// uid/gid, and permission checks see them.
//
// Only the calling thread's fsuid/fsgid change, through raw syscalls: glibc's setuid
// family broadcasts to every thread, which would race other queue workers. The guard
// restores the daemon's own ids on scope exit.
#pragma once

#include <sys/types.h>

namespace vfs::host {

class ScopedFsCredentials {
  public:
    ScopedFsCredentials(uid_t uid, gid_t gid);
    ~ScopedFsCredentials();
    ScopedFsCredentials(const ScopedFsCredentials&) = delete;
    ScopedFsCredentials& operator=(const ScopedFsCredentials&) = delete;

    // False if the kernel refused the switch (the caller must not go on as root).
    bool ok() const { return ok_; }

  private:
    uid_t old_uid_;
    gid_t old_gid_;
    bool ok_;
};

}  // namespace vfs::host
