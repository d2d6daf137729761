#include "fuse/session.h"

#include <cstddef>

namespace vfs::host {

vfs::wire::Result<NegotiatedInit> negotiate_init(const fuse_init_in& in, uint32_t arg_len,
                                                 const FsOptions& opts) {
    if (in.major != FUSE_KERNEL_VERSION) return vfs::wire::Error{EPROTO};
    NegotiatedInit n;
    n.proto.minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION;
    // flags2 exists only in the 7.36+ form of fuse_init_in and only with INIT_EXT.
    uint64_t offered = in.flags;
    if ((in.flags & FUSE_INIT_EXT) && arg_len >= offsetof(fuse_init_in, flags2) + 4)
        offered |= static_cast<uint64_t>(in.flags2) << 32;

    uint64_t want = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT | FUSE_BIG_WRITES |
                    FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
                    FUSE_MAX_PAGES | FUSE_CACHE_SYMLINKS | FUSE_INIT_EXT;
    if (opts.readdirplus) want |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
    // Remote locks only when asked for (-o posix_lock, -o flock), as in QEMU's virtiofsd:
    // without them the guest keeps its locks local, which is all a single guest needs.
    if (opts.posix_lock) want |= FUSE_POSIX_LOCKS;
    if (opts.flock) want |= FUSE_FLOCK_LOCKS;
    if (opts.writeback) want |= FUSE_WRITEBACK_CACHE;
    // ACLs only with the extended SETXATTR header (FUSE_SETXATTR_EXT), as in virtiofsd: it
    // carries FUSE_SETXATTR_ACL_KILL_SGID, the guest's verdict that setting an access ACL
    // must drop S_ISGID. Without it the root daemon's fsetxattr always keeps the bit.
    if (opts.posix_acl && (offered & FUSE_SETXATTR_EXT)) want |= FUSE_POSIX_ACL | FUSE_SETXATTR_EXT;
    if (opts.announce_submounts) want |= FUSE_SUBMOUNTS;
    // FUSE_DIRECT_IO_ALLOW_MMAP (minor 39, Linux 6.6) is newer than the uapi header here:
    // with it a guest may mmap files opened with DIRECT_IO (cache=never|metadata).
    constexpr uint64_t kDirectIoAllowMmap = 1ull << 36;
    if (opts.allow_mmap) want |= kDirectIoAllowMmap;
    // KILLPRIV_V2: the guest flags writes and truncates by unprivileged callers and we
    // clear suid/sgid (fuse_server.cpp). v1 is never offered: it would make the guest
    // skip clearing on every write, while the root daemon's writes keep the bits.
    if (opts.killpriv_v2) want |= FUSE_HANDLE_KILLPRIV_V2;
    // Security labels only from 7.38 guests, whose labels arrive as counted extensions
    // (total_extlen); 7.36/7.37 kernels append them as an uncounted argument instead.
    if (opts.security_label && n.proto.minor >= 38) want |= FUSE_SECURITY_CTX;
    n.flags = offered & want;

    fuse_init_out& o = n.out;
    o.major = FUSE_KERNEL_VERSION;
    o.minor = n.proto.minor;
    o.max_readahead = in.max_readahead;
    o.flags = static_cast<uint32_t>(n.flags);
    o.flags2 = static_cast<uint32_t>(n.flags >> 32);
    o.max_background = 0;  // the guest kernel's default
    o.congestion_threshold = 0;
    o.max_write = kMaxWrite;
    o.time_gran = 1;
    o.max_pages = (n.flags & FUSE_MAX_PAGES) ? kMaxPages : 0;
    return n;
}

}  // namespace vfs::host
