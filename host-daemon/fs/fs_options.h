// What the passthrough filesystem is allowed to do, as set on the command line.
//
// The CLI fills this once at start-up; the filesystem only reads it. Cache modes follow
// virtiofsd: they decide entry/attribute timeouts and the open flags (DIRECT_IO,
// KEEP_CACHE) the guest is given.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fs/id_translation.h"
#include "fs/xattr_map.h"

namespace vfs::host {

enum class CacheMode { kNever, kMetadata, kAuto, kAlways };
enum class InodeFileHandles { kNever, kPrefer, kMandatory };

struct FsOptions {
    std::string shared_dir;
    CacheMode cache = CacheMode::kAuto;
    InodeFileHandles inode_file_handles = InodeFileHandles::kNever;
    bool readonly = false;
    bool writeback = false;
    bool allow_direct_io = false;
    bool allow_mmap = false;
    bool readdirplus = true;
    bool xattr = false;
    bool posix_acl = false;
    bool announce_submounts = true;
    bool killpriv_v2 = false;
    bool preserve_noatime = false;
    bool posix_lock = false;
    bool flock = false;
    // Long-lived fds the filesystem may hold for the guest; 0 means RLIMIT_NOFILE minus a
    // reserve for the daemon's own fds (see fd_budget.h).
    uint64_t fd_limit = 0;
    // Inodes held by file handle pin no fd, so the fd budget does not bound them: this
    // does (about 300 bytes each, so the default is about 300 MiB).
    uint64_t handle_inode_limit = 1u << 20;
    // -o timeout= (C virtiofsd): entry and attribute timeout in seconds, replacing the
    // cache mode's. Unset: the cache mode decides.
    std::optional<double> entry_attr_timeout_s;
    // --xattrmap: how xattr names are renamed between guest and host (null: unchanged).
    std::shared_ptr<const XattrMap> xattrmap;
    // --security-label: store the label the guest sends with a create (FUSE_SECURITY_CTX).
    bool security_label = false;
    // --translate-uid/--translate-gid: applied to credentials, chown and attributes.
    IdTranslations ids;
};

// Timeouts and open behaviour derived from the cache mode.
struct CachePolicy {
    double entry_timeout_s;
    double attr_timeout_s;
    bool direct_io;   // FOPEN_DIRECT_IO on every open
    bool keep_cache;  // FOPEN_KEEP_CACHE on every open

    static CachePolicy from(CacheMode mode) {
        switch (mode) {
            case CacheMode::kNever:
                return {0.0, 0.0, true, false};
            case CacheMode::kMetadata:
                return {86400.0, 86400.0, true, false};
            case CacheMode::kAlways:
                return {86400.0, 86400.0, false, true};
            case CacheMode::kAuto:
                break;
        }
        return {1.0, 1.0, false, false};
    }

    // The cache mode's policy with the -o timeout= override applied.
    static CachePolicy from(const FsOptions& opts) {
        CachePolicy p = from(opts.cache);
        if (opts.entry_attr_timeout_s) {
            p.entry_timeout_s = *opts.entry_attr_timeout_s;
            p.attr_timeout_s = *opts.entry_attr_timeout_s;
        }
        return p;
    }
};

}  // namespace vfs::host
