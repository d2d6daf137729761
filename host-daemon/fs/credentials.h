// Per-request file-system credentials: files a guest creates belong to the guest's
// uid/gid, and permission checks see them.
//
// Only the calling thread's fsuid/fsgid change, through raw syscalls: glibc's setuid
// family broadcasts to every thread, which would race other queue workers. The guard
// restores the daemon's own ids on scope exit. When the thread already has the ids asked
// for (a root guest served by a root daemon, the common case), nothing is switched: asking
// for the current ids copies no credentials, while setting even the same ids again makes
// the kernel allocate and free (or commit) a cred struct per call, four calls in all, a
// fifth of a CREATE's system-call time (docs/benchmarks.md, session 7).
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
    // Whether the ids were changed (and are put back on scope exit).
    bool switched() const { return switched_; }

  private:
    uid_t old_uid_;
    gid_t old_gid_;
    bool ok_;
    bool switched_;
};

}  // namespace vfs::host
