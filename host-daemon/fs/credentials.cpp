#include "fs/credentials.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace vfs::host {
namespace {

// setfsuid/setfsgid return the previous id and never fail loudly; asking again with an
// invalid id (-1) reports the current one, which tells whether the switch took.
uid_t set_fsuid(uid_t uid) {
    return static_cast<uid_t>(syscall(SYS_setfsuid, uid));
}
gid_t set_fsgid(gid_t gid) {
    return static_cast<gid_t>(syscall(SYS_setfsgid, gid));
}
uid_t current_fsuid() {
    return set_fsuid(static_cast<uid_t>(-1));
}
gid_t current_fsgid() {
    return set_fsgid(static_cast<gid_t>(-1));
}

}  // namespace

ScopedFsCredentials::ScopedFsCredentials(uid_t uid, gid_t gid) {
    old_gid_ = current_fsgid();
    old_uid_ = current_fsuid();
    switched_ = old_gid_ != gid || old_uid_ != uid;
    if (!switched_) {
        ok_ = true;
        return;
    }
    // Group first: once the fsuid is no longer root we may lack the right to change it.
    set_fsgid(gid);
    set_fsuid(uid);
    ok_ = current_fsgid() == gid && current_fsuid() == uid;
}

ScopedFsCredentials::~ScopedFsCredentials() {
    if (!switched_) return;
    set_fsuid(old_uid_);
    set_fsgid(old_gid_);
}

}  // namespace vfs::host
