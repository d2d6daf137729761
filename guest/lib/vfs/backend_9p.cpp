// The 9p backend of the vfs calls and the 9p device registry (see backend_9p.h).
#include "lib/vfs/backend_9p.h"

#include <linux/limits.h>

#include "lib/p9/client.h"
#include "lib/p9/p9_messages.h"
#include "lib/vfs/device_registry.h"
#include "lib/vfs/path_walk.h"

namespace vfs::guest::vfslib {
namespace {

using p9::Name;

virtio_9p::P9Device* g_p9[kMaxDevices];
int g_p9_count = 0;
// One client per device, made at its first mount and kept (its root fid with it), as a
// ukfuse session outlives its unmount.
p9::Client* g_clients[kMaxDevices];
bool g_mounted[kMaxDevices];

constexpr uint32_t kTypeMask = 0170000;
constexpr uint32_t kTypeDir = 0040000;
constexpr uint32_t kTypeReg = 0100000;
constexpr uint32_t kTypeLink = 0120000;

bool same(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

bool writable(int flags) {
    return (flags & VFS_O_ACCMODE) != VFS_O_RDONLY;
}

// A path below a mount point as names, "." dropped and ".." taken back lexically (at the
// mount's root it stays there). The names point into the caller's string.
struct Components {
    Name names[kMaxDepth];
    uint32_t n = 0;
};

int split(const char* rest, Components* c) {
    c->n = 0;
    uint32_t total = 0;
    for (const char* p = rest;;) {
        while (*p == '/')
            ++p;
        if (*p == '\0') break;
        const char* s = p;
        while (*p && *p != '/')
            ++p;
        const uint32_t len = static_cast<uint32_t>(p - s);
        total += len + 1;
        if (len > NAME_MAX || total >= PATH_MAX) return -ENAMETOOLONG;
        if (len == 1 && s[0] == '.') continue;
        if (len == 2 && s[0] == '.' && s[1] == '.') {
            if (c->n > 0) --c->n;
            continue;
        }
        if (c->n == static_cast<uint32_t>(kMaxDepth)) return -ENAMETOOLONG;
        c->names[c->n++] = Name{s, len};
    }
    return 0;
}

// Paths rebuilt from symlink targets: per slot (a rename resolves two paths whose names
// must both stay valid), two buffers (the names being walked, the path being built).
constexpr uint32_t kResolveBuf = PATH_MAX * 2;
char g_resolved[2][2][kResolveBuf];
char g_target[PATH_MAX + 1];

uint32_t length(const char* s) {
    uint32_t n = 0;
    while (s[n])
        ++n;
    return n;
}

// The path with names [0, k) replaced by the symlink target (names[k-1] is the link),
// below m's root. An absolute target must stay on the same mount (EXDEV otherwise).
int rebuild(Mount* m, const Components& comp, uint32_t k, const char* target, char* out) {
    uint32_t len = 0;
    auto put = [&](const char* s, uint32_t n) {
        if (len + n + 1 >= kResolveBuf) return false;
        __builtin_memcpy(out + len, s, n);
        len += n;
        return true;
    };
    bool ok = true;
    if (target[0] == '/') {
        const char* rest = nullptr;
        if (mount_for(target, &rest) != m) return -EXDEV;
        ok = put(rest, length(rest));
    } else {
        for (uint32_t i = 0; i + 1 < k && ok; ++i)
            ok = put(comp.names[i].s, comp.names[i].len) && put("/", 1);
        ok = ok && put(target, length(target));
    }
    for (uint32_t i = k; i < comp.n && ok; ++i)
        ok = put("/", 1) && put(comp.names[i].s, comp.names[i].len);
    if (!ok) return -ENAMETOOLONG;
    out[len] = '\0';
    return 0;
}

// A fid for the whole path (parent_only: for all but the last name, which stays in
// comp). Symlinks in directory positions are followed, and in the last one with follow;
// comp is rewritten as they are (its names then live in slot's buffers).
int walk_to(Mount* m, Components* comp, bool parent_only, bool follow, uint32_t* fid,
            int slot = 0) {
    p9::Client* c = m->p9;
    int cur = 0;
    for (int links = 0;;) {
        if (parent_only && comp->n == 0) return -ENOENT;  // a link led to the root
        const uint32_t n = parent_only ? comp->n - 1 : comp->n;
        p9::WalkInfo wi;
        auto f = c->walk(p9::kRootFid, comp->names, n, &wi);
        uint32_t k = 0;  // names up to and including the link to read
        if (f) {
            if (!follow || parent_only || n == 0 || !(wi.last.type & p9::kQidSymlink)) {
                *fid = *f;
                return 0;
            }
            (void)c->clunk(*f);
            k = n;
        } else if (wi.walked > 0 && wi.walked < n && (wi.last.type & p9::kQidSymlink)) {
            k = wi.walked;
        } else {
            return -f.error();
        }
        if (++links > kMaxSymlinks) return -ELOOP;
        auto lf = c->walk(p9::kRootFid, comp->names, k);
        if (!lf) return -lf.error();
        auto tl = c->readlink(*lf, g_target, PATH_MAX);
        (void)c->clunk(*lf);
        if (!tl) return -tl.error();
        g_target[*tl] = '\0';
        char* next = g_resolved[slot][cur];
        if (int r = rebuild(m, *comp, k, g_target, next); r < 0) return r;
        cur = 1 - cur;
        if (int r = split(next, comp); r < 0) return r;
    }
}

void to_vfs_stat(const p9::Attr& a, struct vfs_stat* st) {
    *st = {};
    st->st_ino = a.qid.path;
    st->st_nlink = a.nlink;
    st->st_rdev = a.rdev;
    st->st_mode = a.mode;
    st->st_uid = a.uid;
    st->st_gid = a.gid;
    st->st_blksize = static_cast<uint32_t>(a.blksize);
    st->st_size = static_cast<int64_t>(a.size);
    st->st_blocks = static_cast<int64_t>(a.blocks);
    st->st_atime_sec = static_cast<int64_t>(a.atime_sec);
    st->st_mtime_sec = static_cast<int64_t>(a.mtime_sec);
    st->st_ctime_sec = static_cast<int64_t>(a.ctime_sec);
    st->st_atime_nsec = static_cast<uint32_t>(a.atime_nsec);
    st->st_mtime_nsec = static_cast<uint32_t>(a.mtime_nsec);
    st->st_ctime_nsec = static_cast<uint32_t>(a.ctime_nsec);
}

// Opens an existing node behind fid (which it consumes on failure).
int open_existing(p9::Client* c, uint32_t fid, int flags, bool* dir) {
    auto a = c->getattr(fid);
    int err = a ? 0 : -a.error();
    if (!err) {
        *dir = (a->mode & kTypeMask) == kTypeDir;
        if ((flags & VFS_O_CREAT) && (flags & VFS_O_EXCL))
            err = -EEXIST;
        else if ((flags & VFS_O_DIRECTORY) && !*dir)
            err = -ENOTDIR;
        else if (*dir && writable(flags))
            err = -EISDIR;
    }
    if (!err) {
        const uint32_t lflags =
            static_cast<uint32_t>(flags) & ~static_cast<uint32_t>(VFS_O_CREAT | VFS_O_EXCL);
        if (auto q = c->lopen(fid, lflags); !q) err = -q.error();
    }
    if (err) (void)c->clunk(fid);
    return err;
}

}  // namespace

wire::Status register_p9_device(virtio_9p::P9Device* dev) {
    if (!dev) return wire::Error{EINVAL};
    if (find_p9_device(dev->tag()) || find_device(dev->tag())) return wire::Error{EEXIST};
    if (g_p9_count == kMaxDevices) return wire::Error{ENOSPC};
    g_p9[g_p9_count++] = dev;
    return {};
}

virtio_9p::P9Device* find_p9_device(const char* tag) {
    for (int i = 0; i < g_p9_count; ++i)
        if (same(g_p9[i]->tag(), tag)) return g_p9[i];
    return nullptr;
}

virtio::DmaMemory* p9_dma() {
    return g_p9_count ? &g_p9[0]->dma() : nullptr;
}

Mount* p9_mount_for(const char* path, const char** rest) {
    if (!path || path[0] != '/') return nullptr;
    Mount* m = mount_for(path, rest);
    return m && m->p9 ? m : nullptr;
}

int p9_mount(const char* tag, const char* norm, uint32_t len) {
    virtio_9p::P9Device* dev = find_p9_device(tag);
    if (!dev) return -ENODEV;
    int idx = 0;
    while (g_p9[idx] != dev)
        ++idx;
    if (g_mounted[idx]) return -EBUSY;
    Mount* m = mount_slot();
    if (!m) return -ENOSPC;
    if (!g_clients[idx]) {
        auto* c = new p9::Client;
        if (!c) return -ENOMEM;
        if (auto s = c->init(*dev); !s) {
            delete c;
            return -s.error();
        }
        g_clients[idx] = c;
    }
    *m = Mount{};
    m->used = true;
    __builtin_memcpy(m->path, norm, len + 1);
    m->path_len = len;
    m->p9 = g_clients[idx];
    g_mounted[idx] = true;
    return 0;
}

int p9_umount(Mount* m) {
    for (int i = 0; i < g_p9_count; ++i)
        if (g_clients[i] == m->p9) g_mounted[i] = false;
    m->used = false;
    return 0;
}

int p9_open(Mount* m, const char* rest, int flags, uint32_t mode) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    p9::Client* c = m->p9;
    uint32_t fid = 0;
    bool dir = false;
    const bool follow =
        !(flags & VFS_O_NOFOLLOW) && !((flags & VFS_O_CREAT) && (flags & VFS_O_EXCL));
    int r = walk_to(m, &comp, false, follow, &fid);
    if (r == 0) {
        r = open_existing(c, fid, flags, &dir);
    } else if (r == -ENOENT && (flags & VFS_O_CREAT) && comp.n > 0) {
        if ((r = walk_to(m, &comp, true, false, &fid)) < 0) return r;
        auto q = c->lcreate(fid, comp.names[comp.n - 1],
                            static_cast<uint32_t>(flags) & ~static_cast<uint32_t>(VFS_O_CREAT),
                            kTypeReg | (mode & 07777));
        if (!q) {
            (void)c->clunk(fid);
            return -q.error();
        }
        r = 0;
    }
    if (r < 0) return r;
    const int fd = fd_alloc();
    if (fd < 0) {
        (void)c->clunk(fid);
        return fd;
    }
    OpenFile* f = fd_get(fd);
    f->dir = dir;
    f->mount = m;
    f->p9_fid = fid;
    f->flags = flags;
    ++m->open_files;
    return fd;
}

int p9_close(int fd, OpenFile* f) {
    auto s = f->mount->p9->clunk(f->p9_fid);
    --f->mount->open_files;
    fd_free(fd);
    return s ? 0 : -s.error();
}

int64_t p9_pread(OpenFile* f, void* buf, uint64_t len, uint64_t off) {
    auto n = f->mount->p9->read(f->p9_fid, off, buf, len);
    return n ? static_cast<int64_t>(*n) : -n.error();
}

int64_t p9_pwrite(OpenFile* f, const void* buf, uint64_t len, uint64_t off) {
    auto n = f->mount->p9->write(f->p9_fid, off, buf, len);
    return n ? static_cast<int64_t>(*n) : -n.error();
}

int64_t p9_size(OpenFile* f) {
    auto a = f->mount->p9->getattr(f->p9_fid);
    if (!a) return -a.error();
    if (a->size > static_cast<uint64_t>(INT64_MAX)) return -EOVERFLOW;
    return static_cast<int64_t>(a->size);
}

int p9_fstat(OpenFile* f, struct vfs_stat* st) {
    auto a = f->mount->p9->getattr(f->p9_fid);
    if (!a) return -a.error();
    to_vfs_stat(*a, st);
    return 0;
}

int p9_fsync(OpenFile* f) {
    auto s = f->mount->p9->fsync(f->p9_fid);
    return s ? 0 : -s.error();
}

int p9_ftruncate(OpenFile* f, uint64_t len) {
    auto s = f->mount->p9->setattr(f->p9_fid, p9::kSetattrSize, 0, len);
    return s ? 0 : -s.error();
}

int p9_readdir(OpenFile* f, struct vfs_dirent* out) {
    p9::Client* c = f->mount->p9;
    if (!f->dir_buf) {
        f->dir_buf = static_cast<uint8_t*>(c->device().dma().allocate_zeroed(kDirBufBytes, 64));
        if (!f->dir_buf) return -ENOMEM;
    }
    for (;;) {
        if (f->dir_pos < f->dir_len) {
            p9::DirReader r(f->dir_buf + f->dir_pos, f->dir_len - f->dir_pos);
            p9::DirEntry e;
            auto more = r.next(&e);
            if (!more) return -more.error();
            if (!*more) return -EPROTO;
            f->dir_pos += r.consumed();
            f->dir_off = e.offset;
            out->d_ino = e.qid.path;
            out->d_type = e.type;
            __builtin_memcpy(out->d_name, e.name, e.namelen);
            out->d_name[e.namelen] = '\0';
            return 1;
        }
        if (f->dir_eof) return 0;
        // An answer ending where it began would have us ask for it forever.
        if (f->dir_len > 0 && f->dir_off == f->dir_req_off) return -EPROTO;
        f->dir_req_off = f->dir_off;
        auto n = c->readdir(f->p9_fid, f->dir_off, f->dir_buf, kDirBufBytes);
        if (!n) return -n.error();
        f->dir_len = *n;
        f->dir_pos = 0;
        if (*n == 0) f->dir_eof = true;
    }
}

int p9_stat(Mount* m, const char* rest, bool follow, struct vfs_stat* st) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, false, follow, &fid); r < 0) return r;
    auto a = m->p9->getattr(fid);
    (void)m->p9->clunk(fid);
    if (!a) return -a.error();
    to_vfs_stat(*a, st);
    return 0;
}

int p9_mkdir(Mount* m, const char* rest, uint32_t mode) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    if (comp.n == 0) return -EEXIST;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, true, false, &fid); r < 0) return r;
    auto s = m->p9->mkdir(fid, comp.names[comp.n - 1], mode & 07777);
    (void)m->p9->clunk(fid);
    return s ? 0 : -s.error();
}

int p9_remove(Mount* m, const char* rest, bool dir) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    if (comp.n == 0) return dir ? -EBUSY : -EISDIR;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, true, false, &fid); r < 0) return r;
    auto s = m->p9->unlinkat(fid, comp.names[comp.n - 1], dir ? p9::kAtRemoveDir : 0);
    (void)m->p9->clunk(fid);
    return s ? 0 : -s.error();
}

int p9_rename(Mount* m, const char* from, Mount* m2, const char* to) {
    if (m != m2) return -EXDEV;
    Components a, b;
    if (int r = split(from, &a); r < 0) return r;
    if (int r = split(to, &b); r < 0) return r;
    if (a.n == 0 || b.n == 0) return -EBUSY;
    uint32_t fa = 0, fb = 0;
    if (int r = walk_to(m, &a, true, false, &fa, 0); r < 0) return r;
    if (int r = walk_to(m, &b, true, false, &fb, 1); r < 0) {
        (void)m->p9->clunk(fa);
        return r;
    }
    auto s = m->p9->renameat(fa, a.names[a.n - 1], fb, b.names[b.n - 1]);
    (void)m->p9->clunk(fa);
    (void)m->p9->clunk(fb);
    return s ? 0 : -s.error();
}

int p9_link(Mount* m, const char* from, Mount* m2, const char* to) {
    if (m != m2) return -EXDEV;
    Components a, b;
    if (int r = split(from, &a); r < 0) return r;
    if (int r = split(to, &b); r < 0) return r;
    if (b.n == 0) return -EEXIST;
    uint32_t src = 0, dir = 0;
    if (int r = walk_to(m, &a, false, false, &src, 0); r < 0) return r;
    auto at = m->p9->getattr(src);
    int err = at ? 0 : -at.error();
    if (!err && (at->mode & kTypeMask) == kTypeDir) err = -EPERM;
    if (!err) err = walk_to(m, &b, true, false, &dir, 1);
    if (!err) {
        auto s = m->p9->link(dir, src, b.names[b.n - 1]);
        err = s ? 0 : -s.error();
        (void)m->p9->clunk(dir);
    }
    (void)m->p9->clunk(src);
    return err;
}

int p9_symlink(Mount* m, const char* rest, const char* target) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    if (comp.n == 0) return -EEXIST;
    const uint32_t tlen = length(target);
    if (tlen >= PATH_MAX) return -ENAMETOOLONG;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, true, false, &fid); r < 0) return r;
    auto s = m->p9->symlink(fid, comp.names[comp.n - 1], Name{target, tlen});
    (void)m->p9->clunk(fid);
    return s ? 0 : -s.error();
}

int64_t p9_readlink(Mount* m, const char* rest, char* buf, uint64_t cap) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, false, false, &fid); r < 0) return r;
    auto a = m->p9->getattr(fid);
    int64_t res = a ? 0 : -a.error();
    if (!res && (a->mode & kTypeMask) != kTypeLink) res = -EINVAL;
    if (!res) {
        auto n = m->p9->readlink(fid, g_target, PATH_MAX);
        if (!n) {
            res = -n.error();
        } else {
            const uint64_t len = *n < cap ? *n : cap;
            __builtin_memcpy(buf, g_target, len);
            res = static_cast<int64_t>(len);
        }
    }
    (void)m->p9->clunk(fid);
    return res;
}

int p9_statfs(Mount* m, const char* rest, struct vfs_statfs* st) {
    Components comp;
    if (int r = split(rest, &comp); r < 0) return r;
    uint32_t fid = 0;
    if (int r = walk_to(m, &comp, false, true, &fid); r < 0) return r;
    auto k = m->p9->statfs(fid);
    (void)m->p9->clunk(fid);
    if (!k) return -k.error();
    *st = {};
    st->f_blocks = k->blocks;
    st->f_bfree = k->bfree;
    st->f_bavail = k->bavail;
    st->f_files = k->files;
    st->f_ffree = k->ffree;
    st->f_bsize = k->bsize;
    st->f_frsize = k->bsize;
    st->f_namelen = k->namelen;
    return 0;
}

}  // namespace vfs::guest::vfslib
