// vfs_open, vfs_close and the calls on an open file descriptor (see vfs.h).
#include <linux/fcntl.h>
#include "lib/ukfuse/file_type.h"

#include "lib/vfs/backend_9p.h"
#include "lib/vfs/dax_io.h"
#include "lib/vfs/fd_table.h"
#include "lib/vfs/path_walk.h"
#include "lib/vfs/stat_convert.h"
#include "lib/vfs/vfs.h"

using namespace vfs::guest;
using namespace vfs::guest::vfslib;

namespace {

bool writable(int flags) {
    return (flags & VFS_O_ACCMODE) != VFS_O_RDONLY;
}

// As Linux's rw_verify_area: a count negative as a signed size, or one that takes the
// offset past INT64_MAX, is EINVAL (no offset beyond it reaches the server, and the
// count done always fits the int64_t result). off is not negative.
bool bad_range(int64_t off, uint64_t len) {
    return len > static_cast<uint64_t>(INT64_MAX) ||
           static_cast<uint64_t>(off) > static_cast<uint64_t>(INT64_MAX) - len;
}

int finish_open(Walk* w, int flags, uint32_t mode) {
    ukfuse::Session* s = w->mount->session;
    const int fd = fd_alloc();
    if (fd < 0) return fd;
    OpenFile* f = fd_get(fd);
    uint64_t node = w->node;
    uint32_t type = w->attr.mode & ukfuse::kTypeMask;
    if (node == 0) {
        // Missing and O_CREAT: CREATE makes and opens it in one round trip.
        auto e = s->create(w->dir, w->name, w->name_len, static_cast<uint32_t>(flags),
                           ukfuse::kTypeReg | (mode & 07777), &f->handle);
        if (!e) {
            fd_free(fd);
            return -e.error();
        }
        node = e->nodeid;
        type = ukfuse::kTypeReg;
    } else {
        if ((flags & VFS_O_CREAT) && (flags & VFS_O_EXCL)) {
            fd_free(fd);
            return -EEXIST;
        }
        const bool dir = type == ukfuse::kTypeDir;
        if ((flags & VFS_O_DIRECTORY) && !dir) {
            fd_free(fd);
            return -ENOTDIR;
        }
        if (dir && writable(flags)) {
            fd_free(fd);
            return -EISDIR;
        }
        auto h = s->open(node, static_cast<uint32_t>(flags), dir);
        if (!h) {
            fd_free(fd);
            return -h.error();
        }
        f->handle = *h;
        if ((flags & VFS_O_TRUNC) && writable(flags) && type == ukfuse::kTypeReg) {
            fuse_setattr_in in{};
            in.valid = FATTR_SIZE | FATTR_FH;
            in.fh = f->handle.fh;
            in.size = 0;
            if (auto a = s->setattr(node, in); !a) {
                (void)s->release(node, f->handle, static_cast<uint32_t>(flags), false);
                fd_free(fd);
                return -a.error();
            }
        }
        s->hold(node);  // the walk's pin goes with walk_done(); the file keeps its own
    }
    f->dir = type == ukfuse::kTypeDir;
    f->mount = w->mount;
    f->nodeid = node;
    f->flags = flags;
    ++w->mount->open_files;
    return fd;
}

}  // namespace

extern "C" int vfs_open(const char* path, int flags, uint32_t mode) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest))
        return p9_open(m, rest, flags, mode);
    uint32_t wf = kAllowMissing * !!(flags & VFS_O_CREAT);
    // O_CREAT|O_EXCL never follows a final symlink (it must fail with EEXIST).
    const bool excl = (flags & VFS_O_CREAT) && (flags & VFS_O_EXCL);
    if (!(flags & VFS_O_NOFOLLOW) && !excl) wf |= kFollow;
    Walk w;
    if (int r = walk(path, wf, &w); r < 0) return r;
    if (w.node && (w.attr.mode & ukfuse::kTypeMask) == ukfuse::kTypeLink && !excl) {
        walk_done(&w);
        return -ELOOP;  // O_NOFOLLOW on a symlink
    }
    const int fd = finish_open(&w, flags, mode);
    walk_done(&w);
    return fd;
}

extern "C" int vfs_close(int fd) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->mount->p9) return p9_close(fd, f);
    if (f->dir) return vfs_closedir(fd);
    ukfuse::Session* s = f->mount->session;
    int r = 0;
    if (auto st = s->flush(f->nodeid, f->handle.fh); !st && st.error() != ENOSYS) r = -st.error();
    if (auto st = s->release(f->nodeid, f->handle, static_cast<uint32_t>(f->flags), false); !st)
        r = r ? r : -st.error();
    s->put(f->nodeid);
    (void)s->flush_forgets();
    --f->mount->open_files;
    fd_free(fd);
    return r;
}

extern "C" int64_t vfs_pread(int fd, void* buf, uint64_t len, int64_t off) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->dir) return -EISDIR;
    if ((f->flags & VFS_O_ACCMODE) == VFS_O_WRONLY) return -EBADF;
    if (off < 0) return -EINVAL;
    if (len == 0) return 0;
    if (bad_range(off, len)) return -EINVAL;
    if (f->mount->p9) return p9_pread(f, buf, len, static_cast<uint64_t>(off));
    if (int64_t d = dax_pread(f, buf, len, static_cast<uint64_t>(off)); d != kDaxNotServed)
        return d;
    auto n = f->mount->session->read(f->nodeid, f->handle.fh, static_cast<uint64_t>(off), buf, len);
    if (!n) return -n.error();
    return static_cast<int64_t>(*n);
}

extern "C" int64_t vfs_pwrite(int fd, const void* buf, uint64_t len, int64_t off) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->dir) return -EISDIR;
    if (!writable(f->flags)) return -EBADF;
    if (off < 0) return -EINVAL;
    if (len == 0) return 0;
    if (bad_range(off, len)) return -EINVAL;
    if (f->mount->p9) return p9_pwrite(f, buf, len, static_cast<uint64_t>(off));
    if (int64_t d = dax_pwrite(f, buf, len, static_cast<uint64_t>(off)); d != kDaxNotServed)
        return d;
    auto n =
        f->mount->session->write(f->nodeid, f->handle.fh, static_cast<uint64_t>(off), buf, len);
    if (!n) return -n.error();
    return static_cast<int64_t>(*n);
}

extern "C" int64_t vfs_read(int fd, void* buf, uint64_t len) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    const int64_t n = vfs_pread(fd, buf, len, static_cast<int64_t>(f->pos));
    if (n > 0) f->pos += static_cast<uint64_t>(n);
    return n;
}

extern "C" int64_t vfs_write(int fd, const void* buf, uint64_t len) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if ((f->flags & VFS_O_APPEND) && f->mount->p9) {
        const int64_t size = p9_size(f);
        if (size < 0) return size;
        f->pos = static_cast<uint64_t>(size);
    } else if (f->flags & VFS_O_APPEND) {
        // Fresh size from the server: another writer may have grown the file.
        auto a = f->mount->session->getattr(f->nodeid, &f->handle.fh, true);
        if (!a) return -a.error();
        f->pos = a->size;
    }
    const int64_t n = vfs_pwrite(fd, buf, len, static_cast<int64_t>(f->pos));
    if (n > 0) f->pos += static_cast<uint64_t>(n);
    return n;
}

extern "C" int64_t vfs_lseek(int fd, int64_t off, int whence) {
    OpenFile* f = fd_get(fd);
    if (!f || f->dir) return -EBADF;
    if (!f->mount->p9) f->mount->session->write_behind_seek(f->nodeid);
    int64_t base = 0;
    switch (whence) {
        case VFS_SEEK_SET:
            break;
        case VFS_SEEK_CUR:
            base = static_cast<int64_t>(f->pos);
            break;
        case VFS_SEEK_END: {
            if (f->mount->p9) {
                base = p9_size(f);
                if (base < 0) return base;
                break;
            }
            auto a = f->mount->session->getattr(f->nodeid, &f->handle.fh, true);
            if (!a) return -a.error();
            if (a->size > static_cast<uint64_t>(INT64_MAX)) return -EOVERFLOW;
            base = static_cast<int64_t>(a->size);
            break;
        }
        case VFS_SEEK_DATA:
        case VFS_SEEK_HOLE: {
            if (off < 0) return -ENXIO;
            if (f->mount->p9) return -ENOSYS;  // 9P2000.L has no SEEK_DATA/SEEK_HOLE
            auto r = f->mount->session->lseek(f->nodeid, f->handle.fh, static_cast<uint64_t>(off),
                                              static_cast<uint32_t>(whence));
            if (!r) return -r.error();
            // A position past INT64_MAX would come back as a negative "errno".
            if (*r > static_cast<uint64_t>(INT64_MAX)) return -EOVERFLOW;
            f->pos = *r;
            return static_cast<int64_t>(*r);
        }
        default:
            return -EINVAL;
    }
    if (off > 0 && base > INT64_MAX - off) return -EOVERFLOW;
    const int64_t pos = base + off;
    if (pos < 0) return -EINVAL;
    f->pos = static_cast<uint64_t>(pos);
    return pos;
}

extern "C" int vfs_fstat(int fd, struct vfs_stat* st) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->mount->p9) return p9_fstat(f, st);
    auto a = f->mount->session->getattr(f->nodeid, f->dir ? nullptr : &f->handle.fh);
    if (!a) return -a.error();
    to_vfs_stat(*a, st);
    return 0;
}

extern "C" int vfs_fsync(int fd) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->mount->p9) return p9_fsync(f);
    auto s = f->mount->session->fsync(f->nodeid, f->handle.fh, false, f->dir);
    return s ? 0 : -s.error();
}

extern "C" int vfs_ftruncate(int fd, int64_t len) {
    OpenFile* f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->dir) return -EISDIR;
    if (!writable(f->flags)) return -EINVAL;
    if (len < 0) return -EINVAL;
    if (f->mount->p9) return p9_ftruncate(f, static_cast<uint64_t>(len));
    fuse_setattr_in in{};
    in.valid = FATTR_SIZE | FATTR_FH;
    in.fh = f->handle.fh;
    in.size = static_cast<uint64_t>(len);
    auto a = f->mount->session->setattr(f->nodeid, in);
    return a ? 0 : -a.error();
}
