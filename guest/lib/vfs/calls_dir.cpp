// vfs_opendir, vfs_readdir, vfs_closedir (see vfs.h). Records come from one
// READDIR(PLUS) reply at a time; READDIRPLUS entries are lookups the server counted, so
// each is handed to ukfuse to be cached or forgotten.
#include "lib/vfs/backend_9p.h"
#include "lib/vfs/fd_table.h"
#include "lib/vfs/path_walk.h"
#include "lib/vfs/vfs.h"
#include "vfs/wire/fuse_client.h"

using namespace vfs::guest;
using namespace vfs::guest::vfslib;

extern "C" int vfs_opendir(const char* path) {
    return vfs_open(path, VFS_O_RDONLY | VFS_O_DIRECTORY, 0);
}

extern "C" int vfs_readdir(int dirfd, struct vfs_dirent* out) {
    OpenFile* f = fd_get(dirfd);
    if (!f) return -EBADF;
    if (!f->dir) return -ENOTDIR;
    if (f->mount->p9) return p9_readdir(f, out);
    ukfuse::Session* s = f->mount->session;
    if (!f->dir_buf) {
        f->dir_buf = static_cast<uint8_t*>(s->device().dma().allocate_zeroed(kDirBufBytes, 64));
        if (!f->dir_buf) return -ENOMEM;
    }
    const bool plus = s->info().readdirplus;
    for (;;) {
        if (f->dir_pos < f->dir_len) {
            vfs::wire::DirentReader r(f->dir_buf + f->dir_pos, f->dir_len - f->dir_pos, plus);
            vfs::wire::DirEntry e;
            auto more = r.next(&e);
            if (!more) return -more.error();
            if (!*more) return -EPROTO;  // dir_pos < dir_len, yet no record
            const uint64_t fixed = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
            f->dir_pos += static_cast<uint32_t>(FUSE_DIRENT_ALIGN(fixed + e.namelen));
            f->dir_off = e.off;
            if (plus) s->absorb_direntplus(f->nodeid, e.name, e.namelen, e.entry);
            out->d_ino = e.ino;
            out->d_type = e.type;
            __builtin_memcpy(out->d_name, e.name, e.namelen);
            out->d_name[e.namelen] = '\0';
            return 1;
        }
        if (f->dir_eof) return 0;
        // A reply whose last record leads back to where it was asked from would have us
        // ask for the same records forever (a server's offsets are cookies: no order to
        // check beyond this).
        if (f->dir_len > 0 && f->dir_off == f->dir_req_off) return -EPROTO;
        f->dir_req_off = f->dir_off;
        (void)s->flush_forgets();
        auto n = s->readdir(f->nodeid, f->handle.fh, f->dir_off, f->dir_buf, kDirBufBytes);
        if (!n) return -n.error();
        f->dir_len = *n;
        f->dir_pos = 0;
        if (*n == 0) f->dir_eof = true;
    }
}

extern "C" int vfs_closedir(int dirfd) {
    OpenFile* f = fd_get(dirfd);
    if (!f || !f->dir) return -EBADF;
    if (f->mount->p9) return p9_close(dirfd, f);
    ukfuse::Session* s = f->mount->session;
    auto st = s->release(f->nodeid, f->handle, 0, true);
    s->put(f->nodeid);
    (void)s->flush_forgets();
    --f->mount->open_files;
    fd_free(dirfd);
    return st ? 0 : -st.error();
}
