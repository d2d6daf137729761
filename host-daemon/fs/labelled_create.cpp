// --security-label: a new inode gets the guest's label before it is visible under its name.
//
// The node is made under a hidden temporary name in the same directory, labelled through
// an fd (fsetxattr), then renamed to its name with RENAME_NOREPLACE; if labelling or the
// rename fails, the temporary is removed and the create fails. One way for all four
// creates: O_TMPFILE + linkat would hide even the temporary, but it serves regular files
// only, needs write access (a guest's O_RDONLY create would get a writable handle) and
// not every host file system has it.
//
// Only directories and regular files are labelled: xattrs are set through an fd, which
// symlinks, FIFOs, sockets and devices do not get here (opening them on the host is never
// done, and no race-free path call exists). Their labelled creates fail with EOPNOTSUPP.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <optional>

#include "fs/credentials.h"
#include "fs/passthrough_fs.h"

namespace vfs::host {

namespace {

// A name no guest is likely to pick, unique per call (pid, counter, start-up time).
std::string temporary_name() {
    static const uint64_t seed =
        static_cast<uint64_t>(::time(nullptr)) ^ (static_cast<uint64_t>(::getpid()) << 32);
    static std::atomic<uint64_t> counter{0};
    char buf[64];
    snprintf(buf, sizeof(buf), ".virtiofsd-cxx-label.%016llx.%llu",
             static_cast<unsigned long long>(seed),
             static_cast<unsigned long long>(counter.fetch_add(1, std::memory_order_relaxed)));
    return buf;
}

Error errno_error() {
    return Error{errno};
}

}  // namespace

Result<UniqueFd> PassthroughFs::labelled_node(const RequestContext& ctx, const EntryRef& e,
                                              mode_t type, bool make_opens,
                                              const std::function<int(int, const char*)>& make) {
    const SecurityLabel& label = *ctx.label;
    auto name = host_xattr_name(label.name);
    if (!name) return Error{name.error()};
    if (type != S_IFREG && type != S_IFDIR) return Error{EOPNOTSUPP};
    const int dir = e.parent_fd.get();
    std::string tmp;
    int made = -1;
    for (int attempt = 0; attempt < 8 && made < 0; ++attempt) {
        tmp = temporary_name();
        // The guest's ids (as --translate-uid/gid map them) when we are root, as every
        // create (passthrough_fs.cpp); a forbidden id is refused.
        const auto uid = opts_.ids.uid.to_host(ctx.uid);
        const auto gid = opts_.ids.gid.to_host(ctx.gid);
        if (!uid || !gid) return Error{EPERM};
        std::optional<ScopedFsCredentials> creds;
        if (geteuid() == 0) creds.emplace(*uid, *gid);
        if (creds && !creds->ok()) return Error{EPERM};
        made = make(dir, tmp.c_str());
        if (made < 0 && errno != EEXIST) return errno_error();
    }
    if (made < 0) return Error{EEXIST};
    const int unlink_flags = type == S_IFDIR ? AT_REMOVEDIR : 0;
    auto undo = [&](int err) -> Result<UniqueFd> {
        (void)unlinkat(dir, tmp.c_str(), unlink_flags);
        return Error{err};
    };
    UniqueFd fd(make_opens ? made
                           : openat(dir, tmp.c_str(),
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                                        (type == S_IFDIR ? O_DIRECTORY : 0)));
    if (!fd.valid()) return undo(errno);
    if (fsetxattr(fd.get(), name->c_str(), label.value, label.size, 0) != 0) return undo(errno);
    if (syscall(SYS_renameat2, dir, tmp.c_str(), dir, e.name.c_str(), RENAME_NOREPLACE) != 0)
        return undo(errno);
    return fd;
}

}  // namespace vfs::host
