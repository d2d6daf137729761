// The calls that name a path: stat, lstat, mkdir, rmdir, unlink, rename, symlink,
// readlink, link, statfs (see vfs.h).
#include "lib/ukfuse/file_type.h"

#include "lib/vfs/backend_9p.h"
#include "lib/vfs/path_walk.h"
#include "lib/vfs/stat_convert.h"
#include "lib/vfs/vfs.h"

using namespace vfs::guest;
using namespace vfs::guest::vfslib;

namespace {

uint32_t length(const char* s) {
    uint32_t n = 0;
    while (s[n])
        ++n;
    return n;
}

int stat_common(const char* path, uint32_t flags, struct vfs_stat* st) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest))
        return p9_stat(m, rest, (flags & kFollow) != 0, st);
    Walk w;
    if (int r = walk(path, flags, &w); r < 0) return r;
    auto a = w.mount->session->getattr(w.node);
    walk_done(&w);
    if (!a) return -a.error();
    to_vfs_stat(*a, st);
    return 0;
}

// Both ends of a two-path call, on the same mount.
int walk_pair(const char* a, uint32_t fa, const char* b, uint32_t fb, Walk* wa, Walk* wb) {
    if (int r = walk(a, fa, wa); r < 0) return r;
    if (int r = walk(b, fb, wb); r < 0) {
        walk_done(wa);
        return r;
    }
    if (wa->mount != wb->mount) {
        walk_done(wa);
        walk_done(wb);
        return -EXDEV;
    }
    return 0;
}

}  // namespace

extern "C" int vfs_stat(const char* path, struct vfs_stat* st) {
    return stat_common(path, kFollow, st);
}

extern "C" int vfs_lstat(const char* path, struct vfs_stat* st) {
    return stat_common(path, 0, st);
}

extern "C" int vfs_mkdir(const char* path, uint32_t mode) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest)) return p9_mkdir(m, rest, mode);
    Walk w;
    if (int r = walk(path, kParent, &w); r < 0) return r == -EINVAL ? -EEXIST : r;
    auto e = w.mount->session->mkdir(w.dir, w.name, w.name_len, mode & 07777);
    if (e) w.mount->session->put(e->nodeid);
    walk_done(&w);
    return e ? 0 : -e.error();
}

extern "C" int vfs_rmdir(const char* path) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest)) return p9_remove(m, rest, true);
    Walk w;
    if (int r = walk(path, kParent, &w); r < 0) return r == -EINVAL ? -EBUSY : r;
    auto s = w.mount->session->rmdir(w.dir, w.name, w.name_len);
    walk_done(&w);
    return s ? 0 : -s.error();
}

extern "C" int vfs_unlink(const char* path) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest)) return p9_remove(m, rest, false);
    Walk w;
    if (int r = walk(path, kParent, &w); r < 0) return r == -EINVAL ? -EISDIR : r;
    auto s = w.mount->session->unlink(w.dir, w.name, w.name_len);
    walk_done(&w);
    return s ? 0 : -s.error();
}

extern "C" int vfs_rename(const char* from, const char* to) {
    if (const char* ra, *rb; Mount* ma = p9_mount_for(from, &ra)) {
        Mount* mb = mount_for(to, &rb);
        return mb ? p9_rename(ma, ra, mb, rb) : -ENOENT;
    }
    Walk a, b;
    if (int r = walk_pair(from, kParent, to, kParent, &a, &b); r < 0) return r;
    auto s = a.mount->session->rename(a.dir, a.name, a.name_len, b.dir, b.name, b.name_len, 0);
    walk_done(&a);
    walk_done(&b);
    return s ? 0 : -s.error();
}

extern "C" int vfs_symlink(const char* target, const char* linkpath) {
    if (const char* rest; Mount* m = p9_mount_for(linkpath, &rest)) {
        return target && *target ? p9_symlink(m, rest, target) : -ENOENT;
    }
    if (!target || !*target) return -ENOENT;
    Walk w;
    if (int r = walk(linkpath, kParent, &w); r < 0) return r == -EINVAL ? -EEXIST : r;
    auto e = w.mount->session->symlink(w.dir, w.name, w.name_len, target, length(target));
    if (e) w.mount->session->put(e->nodeid);
    walk_done(&w);
    return e ? 0 : -e.error();
}

extern "C" int64_t vfs_readlink(const char* path, char* buf, uint64_t cap) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest))
        return p9_readlink(m, rest, buf, cap);
    Walk w;
    if (int r = walk(path, 0, &w); r < 0) return r;
    if ((w.attr.mode & ukfuse::kTypeMask) != ukfuse::kTypeLink) {
        walk_done(&w);
        return -EINVAL;
    }
    // readlink(2) truncates to the buffer; the session needs room for the whole target.
    static char target[4096];
    auto n = w.mount->session->readlink(w.node, target, sizeof(target));
    walk_done(&w);
    if (!n) return -n.error();
    const uint64_t len = *n < cap ? *n : cap;
    __builtin_memcpy(buf, target, len);
    return static_cast<int64_t>(len);
}

extern "C" int vfs_link(const char* from, const char* to) {
    if (const char* ra, *rb; Mount* ma = p9_mount_for(from, &ra)) {
        Mount* mb = mount_for(to, &rb);
        return mb ? p9_link(ma, ra, mb, rb) : -ENOENT;
    }
    Walk a, b;
    if (int r = walk_pair(from, 0, to, kParent, &a, &b); r < 0) return r == -EINVAL ? -EEXIST : r;
    if ((a.attr.mode & ukfuse::kTypeMask) == ukfuse::kTypeDir) {
        walk_done(&a);
        walk_done(&b);
        return -EPERM;
    }
    auto e = a.mount->session->link(a.node, b.dir, b.name, b.name_len);
    if (e) a.mount->session->put(e->nodeid);
    walk_done(&a);
    walk_done(&b);
    return e ? 0 : -e.error();
}

extern "C" int vfs_statfs(const char* path, struct vfs_statfs* st) {
    if (const char* rest; Mount* m = p9_mount_for(path, &rest)) return p9_statfs(m, rest, st);
    Walk w;
    if (int r = walk(path, kFollow, &w); r < 0) return r;
    auto k = w.mount->session->statfs(w.node);
    walk_done(&w);
    if (!k) return -k.error();
    *st = {};
    st->f_blocks = k->blocks;
    st->f_bfree = k->bfree;
    st->f_bavail = k->bavail;
    st->f_files = k->files;
    st->f_ffree = k->ffree;
    st->f_bsize = k->bsize;
    st->f_frsize = k->frsize;
    st->f_namelen = k->namelen;
    return 0;
}
