#include "fs/passthrough_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fs/credentials.h"
#include "fs/killpriv.h"
#include "fs/names.h"
#include "fs/xattr_names.h"
#include "util/proc_self_fd.h"

namespace vfs::host {
namespace {

Error errno_error() {
    return Error{errno > 0 ? errno : EIO};
}

void split_timeout(double seconds, uint64_t* s, uint32_t* ns) {
    *s = static_cast<uint64_t>(seconds);
    *ns = static_cast<uint32_t>((seconds - static_cast<double>(*s)) * 1e9);
}

// The decimal name of an fd under /proc/self/fd, on the stack.
struct FdName {
    explicit FdName(int fd) {
        auto r = std::to_chars(buf, buf + sizeof(buf) - 1, fd);
        *r.ptr = '\0';
    }
    char buf[16];
};

// Files a guest creates get the guest's uid/gid (as --translate-uid/gid map them to the
// host) when we are root; an unprivileged daemon creates everything as itself. An id the
// rules forbid is refused either way (EPERM through ok()).
class CreateCredentials {
  public:
    CreateCredentials(const RequestContext& ctx, const IdTranslations& ids) {
        const auto uid = ids.uid.to_host(ctx.uid);
        const auto gid = ids.gid.to_host(ctx.gid);
        forbidden_ = !uid || !gid;
        if (!forbidden_ && geteuid() == 0) creds_.emplace(*uid, *gid);
    }
    bool ok() const { return !forbidden_ && (!creds_ || creds_->ok()); }

  private:
    bool forbidden_ = false;
    std::optional<ScopedFsCredentials> creds_;
};

bool fits_off_t(uint64_t v) {
    return v <= static_cast<uint64_t>(INT64_MAX);
}

}  // namespace

Result<std::unique_ptr<PassthroughFs>> PassthroughFs::create(const FsOptions& opts) {
    // Modes the guest asks for are applied exactly (the guest already folded in its
    // umask, or sends it for us to apply): the daemon's own umask must not interfere.
    umask(0);
    std::unique_ptr<PassthroughFs> fs(new PassthroughFs(opts));
    // A copy of the process's (util/proc_self_fd.h): inside a sandbox no /proc path exists.
    const int proc_fd = proc_self_fd();
    if (proc_fd < 0) return errno_error();
    fs->proc_self_fd_.reset(::fcntl(proc_fd, F_DUPFD_CLOEXEC, 0));
    if (!fs->proc_self_fd_.valid()) return errno_error();
    UniqueFd root(::open(opts.shared_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return errno_error();
    uint64_t mnt_id = 0;
    auto attr = fs->stat_inode(root.get(), nullptr, &mnt_id);
    if (!attr) return Error{attr.error()};
    struct stat st {};
    if (fstat(root.get(), &st) != 0) return errno_error();
    fs->root_dev_ = st.st_dev;
    fs->root_ino_ = st.st_ino;
    if (opts.inode_file_handles != InodeFileHandles::kNever) {
        // Reopening needs CAP_DAC_READ_SEARCH; try it once on the root rather than fail
        // on the first lookup.
        auto h = fs->file_handles_.encode(root.get(), mnt_id);
        Result<UniqueFd> reopened = Error{h ? 0 : h.error()};
        if (h) reopened = fs->file_handles_.open(*h, O_PATH);
        fs->use_file_handles_ = reopened.ok();
        if (!reopened && opts.inode_file_handles == InodeFileHandles::kMandatory)
            return Error{reopened.error()};
    }
    fs->inodes_.set_root(InodeKey{st.st_dev, st.st_ino, mnt_id}, S_IFDIR, std::move(root));
    return fs;
}

namespace {
// The default fd budget: the open-file limit less a reserve for the daemon's own fds
// (sockets, eventfds, io_uring, guest memory, per-operation reopens).
int64_t default_fd_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024 - 128;
    const int64_t cur = static_cast<int64_t>(rl.rlim_cur);
    const int64_t reserve = std::max<int64_t>(128, cur / 16);
    return std::max<int64_t>(cur - reserve, 16);
}
}  // namespace

PassthroughFs::PassthroughFs(const FsOptions& opts)
    : fd_budget_(opts.fd_limit ? static_cast<int64_t>(opts.fd_limit) : default_fd_limit()),
      handle_budget_(static_cast<int64_t>(opts.handle_inode_limit)),
      opts_(opts),
      cache_(CachePolicy::from(opts)) {}

Result<uint64_t> PassthroughFs::add_handle(UniqueFd fd, InodeRef inode, bool dir) {
    auto token = fd_budget_.take();
    if (!token) return Error{EMFILE};
    auto h = std::make_shared<Handle>(dir);
    h->fd = std::move(fd);
    h->fd_token = std::move(token);
    h->inode = std::move(inode);
    const int fl = dir ? 0 : fcntl(h->fd.get(), F_GETFL);
    h->direct = fl > 0 && (fl & O_DIRECT);
    // Counted so that an inode's lock fds go with its last open file.
    if (!dir && opts_.posix_lock) posix_locks_.opened(h->inode->nodeid);
    return handles_.add(std::move(h));
}

Result<InodeRef> PassthroughFs::inode(uint64_t nodeid) const {
    InodeRef i = inodes_.get(nodeid);
    if (!i) return Error{ENOENT};
    return i;
}

Result<InodeRef> PassthroughFs::dir_inode(uint64_t nodeid) const {
    auto i = inode(nodeid);
    if (i && (*i)->type != S_IFDIR) return Error{ENOTDIR};
    return i;
}

Result<InodeFd> PassthroughFs::path_fd(const Inode& inode) const {
    if (inode.fd.valid()) return InodeFd::borrowed(inode.fd.get());
    if (!inode.handle) return Error{EIO};  // lost in a migration (guest-error)
    auto fd = file_handles_.open(*inode.handle, O_PATH);
    if (!fd) return Error{fd.error()};
    return InodeFd::owned(std::move(*fd));
}

Result<PassthroughFs::EntryRef> PassthroughFs::entry_ref(uint64_t parent, std::string_view name,
                                                         int dot_errno, int dotdot_errno) const {
    auto p = dir_inode(parent);
    if (!p) return Error{p.error()};
    auto n = ComponentName::from(name);
    if (!n) return Error{n.error()};
    // The kernel never sends these; a guest that does gets what the syscall would say.
    if (n->view() == ".") return Error{dot_errno};
    if (n->view() == "..") return Error{dotdot_errno};
    auto pfd = path_fd(**p);
    if (!pfd) return Error{pfd.error()};
    EntryRef e;
    e.parent = std::move(*p);
    e.parent_fd = std::move(*pfd);
    e.name = *n;
    return e;
}

Result<CreateResult> PassthroughFs::opened_new_file(Result<fuse_entry_out> entry, InodeRef inode,
                                                    UniqueFd file) {
    if (!entry) return Error{entry.error()};
    // `inode` is the reference the lookup returned: looking the node id up again here
    // could find nothing, as a FORGET on another queue may have dropped it meanwhile.
    auto fh = add_handle(std::move(file), std::move(inode), false);
    if (!fh) {
        inodes_.forget(entry->nodeid, 1);  // the guest never sees this entry
        return Error{fh.error()};
    }
    CreateResult r;
    r.entry = *entry;
    r.open = open_reply(*fh, false);
    return r;
}

Result<UniqueFd> PassthroughFs::reopen(const Inode& inode, int flags) const {
    // Through our own fd's magic link (or the inode's file handle): the inode itself,
    // never a path the guest chose. A symlink inode is refused, so the reopen can never
    // follow one.
    if (inode.type == S_IFLNK) return Error{ELOOP};
    if (!inode.fd.valid() && !inode.handle) return Error{EIO};  // lost in a migration
    if (!inode.fd.valid()) return file_handles_.open(*inode.handle, flags & ~O_NOFOLLOW);
    FdName n(inode.fd.get());
    int fd = openat(proc_self_fd_.get(), n.buf, (flags & ~O_NOFOLLOW) | O_CLOEXEC);
    if (fd < 0) return errno_error();
    return UniqueFd(fd);
}

Result<fuse_attr> PassthroughFs::stat_inode(int fd, const InodeKey* parent, uint64_t* mnt_id,
                                            dev_t* dev) const {
    struct statx stx {};
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
              STATX_BASIC_STATS | STATX_MNT_ID, &stx) != 0)
        return errno_error();
    fuse_attr a{};
    a.ino = stx.stx_ino;
    a.size = stx.stx_size;
    a.blocks = stx.stx_blocks;
    a.atime = static_cast<uint64_t>(stx.stx_atime.tv_sec);
    a.mtime = static_cast<uint64_t>(stx.stx_mtime.tv_sec);
    a.ctime = static_cast<uint64_t>(stx.stx_ctime.tv_sec);
    a.atimensec = stx.stx_atime.tv_nsec;
    a.mtimensec = stx.stx_mtime.tv_nsec;
    a.ctimensec = stx.stx_ctime.tv_nsec;
    a.mode = stx.stx_mode;
    a.nlink = stx.stx_nlink;
    // Every attribute reply is filled here: the one place host ids become the guest's.
    a.uid = opts_.ids.uid.to_guest(stx.stx_uid);
    a.gid = opts_.ids.gid.to_guest(stx.stx_gid);
    a.rdev = static_cast<uint32_t>(makedev(stx.stx_rdev_major, stx.stx_rdev_minor));
    a.blksize = stx.stx_blksize;
    const uint64_t mnt = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
    if (mnt_id) *mnt_id = mnt;
    const dev_t d = makedev(stx.stx_dev_major, stx.stx_dev_minor);
    if (dev) *dev = d;
    // A directory on another mount, or another device, than its parent is a submount:
    // the guest gives it its own superblock so inode numbers from two filesystems never
    // collide. The device matters too: a btrfs subvolume is a new st_dev on the same
    // mount, and its inode numbers start again.
    if (opts_.announce_submounts && S_ISDIR(stx.stx_mode) && parent &&
        ((parent->mnt_id != 0 && mnt != parent->mnt_id) || d != parent->dev))
        a.flags |= FUSE_ATTR_SUBMOUNT;
    return a;
}

Result<fuse_entry_out> PassthroughFs::entry_for(const Inode& parent, UniqueFd fd, InodeRef* held) {
    uint64_t mnt_id = 0;
    dev_t dev = 0;
    auto attr = stat_inode(fd.get(), &parent.key, &mnt_id, &dev);
    if (!attr) return Error{attr.error()};
    std::optional<FileHandle> handle;
    if (use_file_handles_) {
        auto h = file_handles_.encode(fd.get(), mnt_id);
        if (h) {
            handle = *h;
        } else if (opts_.inode_file_handles == InodeFileHandles::kMandatory) {
            return Error{h.error()};
        }
    }
    if (handle) fd.reset();  // the handle stands in for the fd: nothing stays open
    InodeRef in = inodes_.add_lookup(InodeKey{dev, attr->ino, mnt_id}, attr->mode & S_IFMT,
                                     std::move(fd), handle, &fd_budget_, &handle_budget_);
    if (!in) return Error{EMFILE};
    if (held) *held = in;
    fuse_entry_out e{};
    e.nodeid = in->nodeid;
    e.generation = 0;
    split_timeout(cache_.entry_timeout_s, &e.entry_valid, &e.entry_valid_nsec);
    split_timeout(cache_.attr_timeout_s, &e.attr_valid, &e.attr_valid_nsec);
    e.attr = *attr;
    return e;
}

bool PassthroughFs::beneath_share(int fd) const {
    // Climbs by "..", as a path walk would, until the share root or the host's "/".
    // At most PATH_MAX / 2 levels: no deeper path can exist.
    constexpr int kMaxLevels = PATH_MAX / 2;
    UniqueFd cur(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    struct stat st;
    if (!cur.valid() || fstat(cur.get(), &st) != 0) return false;
    for (int level = 0; level < kMaxLevels; ++level) {
        if (st.st_dev == root_dev_ && st.st_ino == root_ino_) return true;
        UniqueFd up(openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
        struct stat ust;
        if (!up.valid() || fstat(up.get(), &ust) != 0) return false;
        if (ust.st_dev == st.st_dev && ust.st_ino == st.st_ino) return false;  // "/"
        cur = std::move(up);
        st = ust;
    }
    return false;
}

Result<fuse_entry_out> PassthroughFs::lookup_child(const Inode& parent, std::string_view name,
                                                   InodeRef* held) {
    auto n = ComponentName::from(name);
    if (!n) return Error{n.error()};
    auto pfd = path_fd(parent);
    if (!pfd) return Error{pfd.error()};
    int fd = -1;
    if (n->view() == "." || (n->view() == ".." && parent.nodeid == FUSE_ROOT_ID)) {
        // ".." of the share root is the root: the guest can never climb out.
        fd = openat(pfd->get(), ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    } else if (n->view() == "..") {
        fd = openat(pfd->get(), "..", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        // The host may have moved this directory out of the share: its ".." is then
        // the host's, and must not become a node, whatever the sandbox.
        if (fd >= 0 && !beneath_share(fd)) {
            ::close(fd);
            return Error{EACCES};
        }
    } else {
        if (have_openat2_) {
            open_how how{};
            how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
            how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
            fd = static_cast<int>(syscall(SYS_openat2, pfd->get(), n->c_str(), &how, sizeof(how)));
            if (fd < 0 && errno == ENOSYS) have_openat2_ = false;
        }
        if (!have_openat2_) fd = openat(pfd->get(), n->c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) return errno_error();
    return entry_for(parent, UniqueFd(fd), held);
}

Result<fuse_entry_out> PassthroughFs::lookup(const RequestContext&, uint64_t parent,
                                             std::string_view name) {
    auto p = dir_inode(parent);
    if (!p) return Error{p.error()};
    return lookup_child(**p, name);
}

void PassthroughFs::forget(uint64_t nodeid, uint64_t nlookup) {
    inodes_.forget(nodeid, nlookup);
}

Result<fuse_attr_out> PassthroughFs::getattr(uint64_t nodeid, const uint64_t*) {
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    auto fd = path_fd(**i);
    if (!fd) return Error{fd.error()};
    auto attr = stat_inode(fd->get(), nullptr, nullptr);
    if (!attr) return Error{attr.error()};
    fuse_attr_out out{};
    split_timeout(cache_.attr_timeout_s, &out.attr_valid, &out.attr_valid_nsec);
    out.attr = *attr;
    return out;
}

Result<fuse_attr_out> PassthroughFs::setattr(const RequestContext&, uint64_t nodeid,
                                             const fuse_setattr_in& in) {
    auto ir = inode(nodeid);
    if (!ir) return Error{ir.error()};
    const Inode& i = **ir;
    HandleRef h;
    if (in.valid & FATTR_FH) {
        h = handles_.get(in.fh);
        if (!h || h->inode.get() != &i) return Error{EBADF};
    }
    // The guest's ids as the host stores them; a forbidden one is refused before any change.
    const auto host_uid = opts_.ids.uid.to_host(in.uid);
    const auto host_gid = opts_.ids.gid.to_host(in.gid);
    if (((in.valid & FATTR_UID) && !host_uid) || ((in.valid & FATTR_GID) && !host_gid))
        return Error{EPERM};
    auto ifd = path_fd(i);
    if (!ifd) return Error{ifd.error()};
    FdName n(ifd->get());
    if (in.valid & FATTR_MODE) {
        if (i.type == S_IFLNK) return Error{EOPNOTSUPP};
        const int r = h ? fchmod(h->fd.get(), in.mode & 07777)
                        : fchmodat(proc_self_fd_.get(), n.buf, in.mode & 07777, 0);
        if (r != 0) return errno_error();
    }
    if (in.valid & (FATTR_UID | FATTR_GID)) {
        const uid_t uid = (in.valid & FATTR_UID) ? *host_uid : static_cast<uid_t>(-1);
        const gid_t gid = (in.valid & FATTR_GID) ? *host_gid : static_cast<gid_t>(-1);
        if (fchownat(ifd->get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
            return errno_error();
    }
    if (in.valid & FATTR_SIZE) {
        if (!fits_off_t(in.size)) return Error{EFBIG};
        if (h) {
            if (ftruncate(h->fd.get(), static_cast<off_t>(in.size)) != 0) return errno_error();
            if (in.valid & FATTR_KILL_SUIDGID) (void)vfs::host::kill_suid_sgid(h->fd.get());
        } else {
            if (i.type != S_IFREG) return Error{i.type == S_IFDIR ? EISDIR : EINVAL};
            auto fd = reopen(i, O_WRONLY);
            if (!fd) return Error{fd.error()};
            if (ftruncate(fd->get(), static_cast<off_t>(in.size)) != 0) return errno_error();
            if (in.valid & FATTR_KILL_SUIDGID) (void)vfs::host::kill_suid_sgid(fd->get());
        }
    }
    if (in.valid & (FATTR_ATIME | FATTR_MTIME)) {
        timespec ts[2];
        ts[0].tv_nsec = UTIME_OMIT;
        ts[1].tv_nsec = UTIME_OMIT;
        if (in.valid & FATTR_ATIME) {
            ts[0].tv_sec = static_cast<time_t>(in.atime);
            ts[0].tv_nsec = (in.valid & FATTR_ATIME_NOW) ? UTIME_NOW : in.atimensec;
        }
        if (in.valid & FATTR_MTIME) {
            ts[1].tv_sec = static_cast<time_t>(in.mtime);
            ts[1].tv_nsec = (in.valid & FATTR_MTIME_NOW) ? UTIME_NOW : in.mtimensec;
        }
        // A symlink's own times (utimensat(..., AT_SYMLINK_NOFOLLOW) in the guest): on its
        // O_PATH fd itself. /proc/self/fd/N would do too (the magic link resolves to the
        // symlink, not its target: virtiofsd's way), but the empty path says what it means.
        int r;
        if (h) {
            r = futimens(h->fd.get(), ts);
        } else if (i.type == S_IFLNK) {
            r = utimensat(ifd->get(), "", ts, AT_EMPTY_PATH);
            if (r != 0 && errno == EINVAL)  // a kernel without AT_EMPTY_PATH here
                r = utimensat(proc_self_fd_.get(), n.buf, ts, 0);
        } else {
            r = utimensat(proc_self_fd_.get(), n.buf, ts, 0);
        }
        if (r != 0) return errno_error();
    }
    return getattr(nodeid, nullptr);
}

Result<size_t> PassthroughFs::readlink(uint64_t nodeid, char* buf, size_t cap) {
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    if ((*i)->type != S_IFLNK) return Error{EINVAL};
    auto fd = path_fd(**i);
    if (!fd) return Error{fd.error()};
    const ssize_t n = readlinkat(fd->get(), "", buf, cap);
    if (n < 0) return errno_error();
    return static_cast<size_t>(n);
}

Result<fuse_entry_out> PassthroughFs::mknod(const RequestContext& ctx, uint64_t parent,
                                            std::string_view name, uint32_t mode, uint32_t rdev,
                                            uint32_t umask) {
    // Character and block devices are made, as virtiofsd makes them (POSIX says mknod
    // makes them; pjdfstest checks). The guest kernel lets only its CAP_MKNOD callers ask,
    // and our fsuid switch drops CAP_MKNOD for any other uid. A node in the share opens a
    // host driver for whoever opens it on the host; where that matters, --modcaps=-mknod
    // drops CAP_MKNOD and the host kernel refuses them (EPERM).
    auto e = entry_ref(parent, name, EEXIST, EEXIST);
    if (!e) return Error{e.error()};
    const mode_t m = (mode & S_IFMT) | (mode & 07777 & ~umask);
    if (ctx.label) {
        const mode_t type = (mode & S_IFMT) ? (mode & S_IFMT) : S_IFREG;
        auto made = labelled_node(ctx, *e, type, false, [&](int dir, const char* tmp) {
            return mknodat(dir, tmp, m, rdev);
        });
        if (!made) return Error{made.error()};
        return lookup_child(*e->parent, e->name.view());
    }
    {
        CreateCredentials creds(ctx, opts_.ids);
        if (!creds.ok()) return Error{EPERM};
        if (mknodat(e->parent_fd.get(), e->name.c_str(), m, rdev) != 0) return errno_error();
    }
    return lookup_child(*e->parent, e->name.view());
}

Result<fuse_entry_out> PassthroughFs::mkdir(const RequestContext& ctx, uint64_t parent,
                                            std::string_view name, uint32_t mode, uint32_t umask) {
    auto e = entry_ref(parent, name, EEXIST, EEXIST);
    if (!e) return Error{e.error()};
    if (ctx.label) {
        auto made = labelled_node(ctx, *e, S_IFDIR, false, [&](int dir, const char* tmp) {
            return mkdirat(dir, tmp, mode & 07777 & ~umask);
        });
        if (!made) return Error{made.error()};
        return lookup_child(*e->parent, e->name.view());
    }
    {
        CreateCredentials creds(ctx, opts_.ids);
        if (!creds.ok()) return Error{EPERM};
        if (mkdirat(e->parent_fd.get(), e->name.c_str(), mode & 07777 & ~umask) != 0)
            return errno_error();
    }
    return lookup_child(*e->parent, e->name.view());
}

Result<fuse_entry_out> PassthroughFs::symlink(const RequestContext& ctx, uint64_t parent,
                                              std::string_view name, std::string_view target) {
    auto e = entry_ref(parent, name, EEXIST, EEXIST);
    if (!e) return Error{e.error()};
    // The target is stored, never resolved on the host, so any text is allowed.
    if (target.empty() || target.size() >= PATH_MAX || target.find('\0') != std::string_view::npos)
        return Error{target.empty() ? ENOENT : ENAMETOOLONG};
    if (ctx.label) return Error{EOPNOTSUPP};  // see labelled_create.cpp
    std::string t(target);
    {
        CreateCredentials creds(ctx, opts_.ids);
        if (!creds.ok()) return Error{EPERM};
        if (symlinkat(t.c_str(), e->parent_fd.get(), e->name.c_str()) != 0) return errno_error();
    }
    return lookup_child(*e->parent, e->name.view());
}

Result<fuse_entry_out> PassthroughFs::link(const RequestContext&, uint64_t nodeid,
                                           uint64_t newparent, std::string_view newname) {
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    if ((*i)->type == S_IFDIR) return Error{EPERM};
    auto e = entry_ref(newparent, newname, EEXIST, EEXIST);
    if (!e) return Error{e.error()};
    auto ifd = path_fd(**i);
    if (!ifd) return Error{ifd.error()};
    if (linkat(ifd->get(), "", e->parent_fd.get(), e->name.c_str(), AT_EMPTY_PATH) != 0)
        return errno_error();
    return lookup_child(*e->parent, e->name.view());
}

Status PassthroughFs::unlink(const RequestContext&, uint64_t parent, std::string_view name) {
    auto e = entry_ref(parent, name, EISDIR, EISDIR);
    if (!e) return Error{e.error()};
    if (unlinkat(e->parent_fd.get(), e->name.c_str(), 0) != 0) return errno_error();
    return {};
}

Status PassthroughFs::rmdir(const RequestContext&, uint64_t parent, std::string_view name) {
    auto e = entry_ref(parent, name, EINVAL, ENOTEMPTY);
    if (!e) return Error{e.error()};
    if (unlinkat(e->parent_fd.get(), e->name.c_str(), AT_REMOVEDIR) != 0) return errno_error();
    return {};
}

Status PassthroughFs::rename(const RequestContext&, uint64_t parent, std::string_view name,
                             uint64_t newparent, std::string_view newname, uint32_t flags) {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return Error{EINVAL};
    auto from = entry_ref(parent, name, EBUSY, EBUSY);
    if (!from) return Error{from.error()};
    auto to = entry_ref(newparent, newname, EBUSY, EBUSY);
    if (!to) return Error{to.error()};
    if (syscall(SYS_renameat2, from->parent_fd.get(), from->name.c_str(), to->parent_fd.get(),
                to->name.c_str(), flags) != 0)
        return errno_error();
    return {};
}

int PassthroughFs::open_flags_for_host(uint32_t guest_flags) const {
    // Only flags that mean the same on the host pass; creation is handled by CREATE.
    int allowed =
        O_ACCMODE | O_APPEND | O_TRUNC | O_DSYNC | O_SYNC | O_NONBLOCK | O_LARGEFILE | O_DIRECTORY;
    if (opts_.allow_direct_io) allowed |= O_DIRECT;
    if (opts_.preserve_noatime) allowed |= O_NOATIME;
    int f = static_cast<int>(guest_flags) & allowed;
    if (opts_.writeback) {
        // The guest's page cache may read back pages of a write-only file and owns
        // append ordering, so the host file must be readable and not O_APPEND.
        if ((f & O_ACCMODE) == O_WRONLY) f = (f & ~O_ACCMODE) | O_RDWR;
        f &= ~O_APPEND;
    }
    return f;
}

fuse_open_out PassthroughFs::open_reply(uint64_t fh, bool dir) const {
    fuse_open_out o{};
    o.fh = fh;
    if (!dir) {
        if (cache_.direct_io) o.open_flags |= FOPEN_DIRECT_IO;
        if (cache_.keep_cache) o.open_flags |= FOPEN_KEEP_CACHE;
    } else if (cache_.keep_cache) {
        o.open_flags |= FOPEN_CACHE_DIR;
    }
    return o;
}

Result<fuse_open_out> PassthroughFs::open(const RequestContext&, uint64_t nodeid, uint32_t flags) {
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    // The guest opens special files itself; only regular files are opened here, so a
    // FIFO or device on the host can never block or reach a host driver.
    if ((*i)->type != S_IFREG) return Error{(*i)->type == S_IFDIR ? EISDIR : EACCES};
    auto fd = reopen(**i, open_flags_for_host(flags) & ~O_DIRECTORY);
    if (!fd) return Error{fd.error()};
    auto fh = add_handle(std::move(*fd), *i, false);
    if (!fh) return Error{fh.error()};
    return open_reply(*fh, false);
}

Result<CreateResult> PassthroughFs::create(const RequestContext& ctx, uint64_t parent,
                                           std::string_view name, uint32_t mode, uint32_t flags,
                                           uint32_t umask) {
    auto e = entry_ref(parent, name, EISDIR, EISDIR);
    if (!e) return Error{e.error()};
    const int host_flags = (open_flags_for_host(flags) & ~O_DIRECTORY) | O_CLOEXEC;
    int fd = -1;
    if (ctx.label) {
        auto made = labelled_node(ctx, *e, S_IFREG, true, [&](int dir, const char* tmp) {
            return openat(dir, tmp, host_flags | O_CREAT | O_EXCL | O_NOFOLLOW,
                          mode & 07777 & ~umask);
        });
        // The outcome as openat's below gives it, so both take the same EEXIST path.
        errno = made ? 0 : made.error();
        if (made) fd = made->release();
    } else {
        CreateCredentials creds(ctx, opts_.ids);
        if (!creds.ok()) return Error{EPERM};
        // Always O_EXCL: O_CREAT opens only a file we create here, so a FIFO or device
        // node already at the name is never opened (it could block the worker or reach a
        // host driver). An existing name takes the OPEN path below, regular files only.
        fd = openat(e->parent_fd.get(), e->name.c_str(), host_flags | O_CREAT | O_EXCL | O_NOFOLLOW,
                    mode & 07777 & ~umask);
    }
    if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) return open_existing(*e, host_flags);
    if (fd < 0) return errno_error();
    UniqueFd file(fd);
    // The entry comes from the file we created, not from the name, which a concurrent
    // rename may already have moved.
    FdName fn(file.get());
    UniqueFd inode_fd(openat(proc_self_fd_.get(), fn.buf, O_PATH | O_CLOEXEC));
    if (!inode_fd.valid()) return errno_error();
    InodeRef held;
    auto entry = entry_for(*e->parent, std::move(inode_fd), &held);
    return opened_new_file(std::move(entry), std::move(held), std::move(file));
}

Result<CreateResult> PassthroughFs::open_existing(const EntryRef& e, int host_flags) {
    InodeRef in;
    auto entry = lookup_child(*e.parent, e.name.view(), &in);
    if (!entry) return Error{entry.error()};
    Result<UniqueFd> file = Error{EACCES};
    if (!in) {
        file = Error{ENOENT};
    } else if (in->type == S_IFREG) {
        file = reopen(*in, host_flags);
    } else {
        file = Error{in->type == S_IFDIR ? EISDIR : in->type == S_IFLNK ? ELOOP : EACCES};
    }
    if (!file) {
        inodes_.forget(entry->nodeid, 1);  // the guest never sees this lookup
        return Error{file.error()};
    }
    return opened_new_file(entry, std::move(in), std::move(*file));
}

Result<CreateResult> PassthroughFs::tmpfile(const RequestContext& ctx, uint64_t parent,
                                            uint32_t mode, uint32_t flags, uint32_t umask) {
    auto p = dir_inode(parent);
    if (!p) return Error{p.error()};
    auto pfd = path_fd(**p);
    if (!pfd) return Error{pfd.error()};
    int fd = -1;
    {
        CreateCredentials creds(ctx, opts_.ids);
        if (!creds.ok()) return Error{EPERM};
        int f = open_flags_for_host(flags) & ~(O_DIRECTORY | O_ACCMODE);
        f |= ((flags & O_ACCMODE) == O_RDONLY ? O_RDWR : (flags & O_ACCMODE)) | O_TMPFILE;
        fd = openat(pfd->get(), ".", f | O_CLOEXEC, mode & 07777 & ~umask);
        if (fd < 0) return errno_error();
    }
    UniqueFd file(fd);
    FdName fn(file.get());
    UniqueFd inode_fd(openat(proc_self_fd_.get(), fn.buf, O_PATH | O_CLOEXEC));
    if (!inode_fd.valid()) return errno_error();
    InodeRef held;
    auto entry = entry_for(**p, std::move(inode_fd), &held);
    return opened_new_file(std::move(entry), std::move(held), std::move(file));
}

Status PassthroughFs::release(uint64_t fh, uint32_t release_flags, uint64_t lock_owner) {
    // RELEASEDIR on a file handle (or RELEASE on a directory's) leaves it in place: it
    // was removed before, with its lock bookkeeping left behind until the next INIT.
    auto h = handles_.remove(fh, /*dir=*/false);
    if (!h) return Error{EBADF};
    // The fd closes only when no request still uses it; the guest's flock must go now.
    if (opts_.flock && (release_flags & FUSE_RELEASE_FLOCK_UNLOCK))
        (void)::flock(h->fd.get(), LOCK_UN);
    if (opts_.posix_lock) {
        // The owner of a guest OFD lock is its file, which this RELEASE closes.
        if (release_flags & FUSE_RELEASE_FLOCK_UNLOCK)
            posix_locks_.drop_owner(h->inode->nodeid, lock_owner);
        posix_locks_.released(h->inode->nodeid);
    }
    return {};
}

Status PassthroughFs::flush(uint64_t fh, uint64_t lock_owner) {
    auto h = handles_.get(fh);
    if (!h || h->is_dir) return Error{EBADF};
    // A guest process closed the file: like close() in the guest, that drops every POSIX
    // lock it holds on the file, which live on its own lock fd.
    if (opts_.posix_lock) posix_locks_.drop_owner(h->inode->nodeid, lock_owner);
    // Closing a duplicate does on the host what the guest's close() asks for (network
    // filesystems flush on close; classic fcntl locks of the daemon go), handle kept.
    const int dup_fd = dup(h->fd.get());
    if (dup_fd < 0) return errno_error();
    if (::close(dup_fd) != 0) return errno_error();
    return {};
}

Result<fuse_open_out> PassthroughFs::opendir(const RequestContext&, uint64_t nodeid, uint32_t) {
    auto i = dir_inode(nodeid);
    if (!i) return Error{i.error()};
    auto fd = reopen(**i, O_RDONLY | O_DIRECTORY);
    if (!fd) return Error{fd.error()};
    auto fh = add_handle(std::move(*fd), *i, true);
    if (!fh) return Error{fh.error()};
    return open_reply(*fh, true);
}

Status PassthroughFs::readdir(const RequestContext&, uint64_t fh, uint64_t offset, bool plus,
                              const DirEntrySink& sink) {
    auto h = handles_.get(fh);
    if (!h || !h->is_dir) return Error{EBADF};
    if (!fits_off_t(offset)) return Error{EINVAL};
    std::lock_guard lock(h->dir_stream->mu);
    DirCursor& c = h->dir_stream->cursor;
    // A listing resumes where the last reply ended: carry on in the batch already read
    // instead of seeking back and re-reading the directory for every reply.
    if (!c.batch || offset != c.offset) {
        if (!c.batch) c.batch = DirBatch::take();
        if (::lseek(h->fd.get(), static_cast<off_t>(offset), SEEK_SET) < 0) return errno_error();
        c.len = c.pos = 0;
        c.offset = offset;
    }
    // Past the cap on kept batches: a scratch buffer for this reply only (the cursor
    // stays without a batch, so the next READDIR seeks again).
    thread_local std::unique_ptr<char[]> scratch(new char[DirBatch::kBytes]);
    char* const batch = c.batch ? c.batch.data() : scratch.get();
    // An error after entries were packed ends the reply short instead: those entries'
    // lookups are counted and must reach the guest, and the next request meets the error.
    bool packed = false;
    for (;;) {
        if (c.pos == c.len) {
            const long n = syscall(SYS_getdents64, h->fd.get(), batch, DirBatch::kBytes);
            if (n < 0) {
                const int err = errno;
                c.batch.release();  // reseek next time
                if (packed) return {};
                return Error{err};
            }
            if (n == 0) {
                c.batch.release();  // the end: nothing left to resume in
                c.len = c.pos = 0;
                return {};
            }
            c.len = n;
            c.pos = 0;
        }
        auto* d = reinterpret_cast<struct dirent64*>(batch + c.pos);
        DirEntry de;
        de.name = d->d_name;
        de.ino = d->d_ino;
        de.type = d->d_type;
        de.next_offset = static_cast<uint64_t>(d->d_off);
        fuse_entry_out entry{};
        bool skip = false;
        if (plus) {
            if (de.name == "." || de.name == "..") {
                entry.attr.ino = d->d_ino;
                entry.attr.mode = static_cast<uint32_t>(DTTOIF(d->d_type));
            } else if (auto e = lookup_child(*h->inode, de.name); e) {
                entry = *e;
            } else if (e.error() == ENOENT) {
                skip = true;  // raced with an unlink on the host
            } else {
                // EMFILE, EACCES, ...: skipping would list the directory short, and the
                // guest would take the missing names for deleted files.
                if (packed) return {};
                return Error{e.error()};
            }
            de.entry = &entry;
        }
        if (!skip && !sink(de)) {
            // Not sent: the guest will never FORGET this lookup, so undo it here. The entry
            // stays first in the batch for the next reply.
            if (plus && entry.nodeid != 0) inodes_.forget(entry.nodeid, 1);
            return {};
        }
        packed = packed || !skip;
        c.pos += d->d_reclen;
        c.offset = de.next_offset;
    }
}

Status PassthroughFs::releasedir(uint64_t fh) {
    auto h = handles_.remove(fh, /*dir=*/true);
    if (!h) return Error{EBADF};
    return {};
}

Result<fuse_kstatfs> PassthroughFs::statfs(uint64_t nodeid) {
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    struct statfs s {};
    auto fd = path_fd(**i);
    if (!fd) return Error{fd.error()};
    if (fstatfs(fd->get(), &s) != 0) return errno_error();
    fuse_kstatfs k{};
    k.blocks = s.f_blocks;
    k.bfree = s.f_bfree;
    k.bavail = s.f_bavail;
    k.files = s.f_files;
    k.ffree = s.f_ffree;
    k.bsize = static_cast<uint32_t>(s.f_bsize);
    k.namelen = static_cast<uint32_t>(s.f_namelen);
    k.frsize = static_cast<uint32_t>(s.f_frsize);
    return k;
}

Result<UniqueFd> PassthroughFs::xattr_fd(uint64_t nodeid, int refused) const {
    if (!opts_.xattr) return Error{ENOSYS};
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    // xattrs are reached through a real fd, which only regular files and directories get
    // (opening a FIFO or device on the host is never done).
    if ((*i)->type != S_IFREG && (*i)->type != S_IFDIR) return Error{refused};
    return reopen(**i, O_RDONLY);
}

Status PassthroughFs::setxattr(uint64_t nodeid, std::string_view name, const void* value,
                               size_t size, uint32_t flags, uint32_t setxattr_flags) {
    auto fd = xattr_fd(nodeid, EPERM);
    if (!fd) return Error{fd.error()};
    auto n = host_xattr_name(name);
    if (!n) return Error{n.error()};
    if (fsetxattr(fd->get(), n->c_str(), value, size, static_cast<int>(flags)) != 0)
        return errno_error();
    if ((setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID) && name == "system.posix_acl_access")
        if (const int e = kill_sgid_after_acl(fd->get()); e != 0) return Error{e};
    return {};
}

Result<size_t> PassthroughFs::getxattr(uint64_t nodeid, std::string_view name, void* buf,
                                       size_t cap) {
    auto fd = xattr_fd(nodeid, ENODATA);
    if (!fd) return Error{fd.error()};
    auto n = host_xattr_name(name);
    // A name the map refuses reads as absent, as virtiofsd answers.
    if (!n) return Error{n.error() == EPERM ? ENODATA : n.error()};
    const ssize_t r = fgetxattr(fd->get(), n->c_str(), cap ? buf : nullptr, cap);
    if (r < 0) return errno_error();
    return static_cast<size_t>(r);
}

Result<size_t> PassthroughFs::listxattr(uint64_t nodeid, char* buf, size_t cap) {
    auto fd = xattr_fd(nodeid, ENODATA);
    if (!fd) {
        if (fd.error() == ENODATA) return size_t{0};  // a symlink or special file: none
        return Error{fd.error()};
    }
    if (opts_.xattrmap) return mapped_listxattr(fd->get(), *opts_.xattrmap, buf, cap);
    const ssize_t r = flistxattr(fd->get(), cap ? buf : nullptr, cap);
    if (r < 0) return errno_error();
    return static_cast<size_t>(r);
}

Status PassthroughFs::removexattr(uint64_t nodeid, std::string_view name) {
    auto fd = xattr_fd(nodeid, EPERM);
    if (!fd) return Error{fd.error()};
    auto n = host_xattr_name(name);
    if (!n) return Error{n.error()};
    if (fremovexattr(fd->get(), n->c_str()) != 0) return errno_error();
    return {};
}

Result<uint64_t> PassthroughFs::lseek(uint64_t fh, uint64_t offset, uint32_t whence) {
    auto h = handles_.get(fh);
    if (!h || h->is_dir) return Error{EBADF};
    if (!fits_off_t(offset)) return Error{EINVAL};
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END && whence != SEEK_DATA &&
        whence != SEEK_HOLE)
        return Error{EINVAL};
    const off_t r = ::lseek(h->fd.get(), static_cast<off_t>(offset), static_cast<int>(whence));
    if (r < 0) return errno_error();
    return static_cast<uint64_t>(r);
}

Result<size_t> PassthroughFs::copy_file_range(uint64_t fh_in, uint64_t off_in, uint64_t fh_out,
                                              uint64_t off_out, size_t len, uint32_t flags) {
    if (flags != 0) return Error{EINVAL};
    auto in = handles_.get(fh_in);
    auto out = handles_.get(fh_out);
    if (!in || !out || in->is_dir || out->is_dir) return Error{EBADF};
    if (!fits_off_t(off_in) || !fits_off_t(off_out)) return Error{EINVAL};
    off_t oi = static_cast<off_t>(off_in), oo = static_cast<off_t>(off_out);
    const ssize_t r = ::copy_file_range(in->fd.get(), &oi, out->fd.get(), &oo, len, 0);
    if (r < 0) return errno_error();
    return static_cast<size_t>(r);
}

Status PassthroughFs::syncfs() {
    auto root = inode(FUSE_ROOT_ID);
    if (!root) return Error{root.error()};
    // syncfs needs a real fd on the filesystem; O_PATH is not enough.
    auto fd = reopen(**root, O_RDONLY | O_DIRECTORY);
    if (!fd) return Error{fd.error()};
    if (::syncfs(fd->get()) != 0) return errno_error();
    return {};
}

Status PassthroughFs::kill_suid_sgid(uint64_t fh) {
    auto h = handles_.get(fh);
    if (!h || h->is_dir) return Error{EBADF};
    if (const int err = vfs::host::kill_suid_sgid(h->fd.get())) return Error{err};
    return {};
}

Result<HandleRef> PassthroughFs::lock_handle(uint64_t nodeid, const fuse_lk_in& in) const {
    HandleRef h = handles_.get(in.fh);
    // A lock is taken through an open file of this very inode: a guest naming another
    // inode's fh must not lock (or count handles on) the wrong file.
    if (!h || h->is_dir || !h->inode || h->inode->nodeid != nodeid) return Error{EBADF};
    if (h->inode->type != S_IFREG) return Error{EINVAL};
    return h;
}

namespace {

// A new open file description for one lock owner. Write locks need a writable one;
// a file the daemon may only read still takes read locks (the guest checked the mode
// of its own file before sending the lock).
Result<UniqueFd> open_lock_fd(const std::function<Result<UniqueFd>(int)>& reopen) {
    auto fd = reopen(O_RDWR);
    if (!fd && (fd.error() == EACCES || fd.error() == EROFS || fd.error() == ETXTBSY))
        fd = reopen(O_RDONLY);
    return fd;
}

}  // namespace

Result<fuse_file_lock> PassthroughFs::getlk(uint64_t nodeid, const fuse_lk_in& in) {
    if (!opts_.posix_lock) return Error{ENOSYS};
    if (in.lk_flags & FUSE_LK_FLOCK) return Error{EINVAL};  // flock has no query
    auto h = lock_handle(nodeid, in);
    if (!h) return Error{h.error()};
    const Inode& inode = *(*h)->inode;
    return posix_locks_.getlk(nodeid, in.owner, in.lk, [&] {
        return open_lock_fd([&](int flags) { return reopen(inode, flags); });
    });
}

Status PassthroughFs::setlk(uint64_t nodeid, const fuse_lk_in& in, bool wait) {
    const bool is_flock = in.lk_flags & FUSE_LK_FLOCK;
    if (!(is_flock ? opts_.flock : opts_.posix_lock)) return Error{ENOSYS};
    auto h = lock_handle(nodeid, in);
    if (!h) return Error{h.error()};
    const Inode& inode = *(*h)->inode;
    const Status s =
        is_flock ? flock_op(**h, in) : posix_locks_.setlk(nodeid, in.owner, in.lk, [&] {
            return open_lock_fd([&](int flags) { return reopen(inode, flags); });
        });
    // SETLKW would sleep in a queue worker until another owner lets go, stalling every
    // request behind it (and a guest could hold the lock forever). Like QEMU's C
    // virtiofsd we do not wait; unlike it, a SETLKW that can be granted at once is.
    if (!s && s.error() == EAGAIN && wait) return Error{EOPNOTSUPP};
    return s;
}

Status PassthroughFs::flock_op(const Handle& h, const fuse_lk_in& in) {
    int op = 0;
    switch (in.lk.type) {
        case F_RDLCK:
            op = LOCK_SH;
            break;
        case F_WRLCK:
            op = LOCK_EX;
            break;
        case F_UNLCK:
            op = LOCK_UN;
            break;
        default:
            return Error{EINVAL};
    }
    // flock locks belong to the open file description, which is the handle's own fd:
    // two guest opens are two host descriptions and conflict as they would in the guest.
    if (::flock(h.fd.get(), op | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? Error{EAGAIN} : errno_error();
    return {};
}

void PassthroughFs::reset() {
    posix_locks_.clear();
    handles_.clear();
    inodes_.clear_except_root();
}

Result<DataFile> PassthroughFs::data_file(uint64_t fh, DataAccess access) {
    auto h = handles_.get(fh);
    // Only a sync may name a directory (FSYNCDIR); data moves to and from files only.
    if (!h || (h->is_dir && access != DataAccess::kSync)) return Error{EBADF};
    if (!h->fd.valid()) return Error{EIO};  // lost in a migration (guest-error)
    const int fd = h->fd.get();
    const bool direct = h->direct;
    return DataFile(fd, direct, access, std::move(h));
}

Result<DataFile> PassthroughFs::map_file(const RequestContext&, uint64_t nodeid, uint64_t fh,
                                         DataAccess access) {
    if (access != DataAccess::kRead && access != DataAccess::kWrite) return Error{EINVAL};
    const bool write = access == DataAccess::kWrite;
    if (fh != kMapOwnFile) {
        // The guest's open file, if it is one of this node's and open for the access.
        HandleRef h = handles_.get(fh);
        if (!h || h->is_dir || !h->inode || h->inode->nodeid != nodeid) return Error{EBADF};
        if (h->inode->type != S_IFREG) return Error{EBADF};
        const int fl = fcntl(h->fd.get(), F_GETFL);
        if (fl < 0) return errno_error();
        const int mode = fl & O_ACCMODE;
        if (write ? mode == O_RDONLY : mode == O_WRONLY) return Error{EBADF};
        const int fd = h->fd.get();
        return DataFile(fd, false, access, std::move(h));
    }
    // Linux sends fh = -1 ("don't use fh"): open the node as OPEN would, regular files
    // only, so a mapping reaches nothing an OPEN could not.
    auto i = inode(nodeid);
    if (!i) return Error{i.error()};
    if ((*i)->type != S_IFREG) return Error{(*i)->type == S_IFDIR ? EISDIR : EACCES};
    auto token = fd_budget_.take();
    if (!token) return Error{EMFILE};
    auto fd = reopen(**i, write ? O_RDWR : O_RDONLY);
    if (!fd) return Error{fd.error()};
    auto h = std::make_shared<Handle>(false);
    h->fd = std::move(*fd);
    h->fd_token = std::move(token);
    h->inode = std::move(*i);
    const int raw = h->fd.get();
    return DataFile(raw, false, access, std::move(h));
}

}  // namespace vfs::host
