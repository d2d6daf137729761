// vfs reads and writes through the DAX window (see dax_io.h).
#include "lib/vfs/dax_io.h"

#include <linux/fuse.h>

#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {

int64_t dax_pread(OpenFile* f, void* buf, uint64_t len, uint64_t off) {
    ukfuse::Session* s = f->mount->session;
    ukfuse::DaxManager* d = s->dax();
    if (!d || f->dir) return kDaxNotServed;
    auto size = s->file_size(f->nodeid, f->handle.fh);
    if (!size) return kDaxNotServed;
    uint64_t sz = *size;
    if (len > sz || off > sz - len) {
        auto fresh = s->file_size(f->nodeid, f->handle.fh, true);
        if (!fresh) return kDaxNotServed;
        sz = *fresh;
    }
    if (off >= sz) return 0;
    const uint64_t n = len < sz - off ? len : sz - off;
    auto r = d->read(f->nodeid, ukfuse::kDaxInodeFh, off, buf, n, sz);
    if (!r) return kDaxNotServed;  // ENXIO: the last partial page, for FUSE
    if (*r == n) return static_cast<int64_t>(n);
    auto rest = s->read(f->nodeid, f->handle.fh, off + *r, static_cast<uint8_t*>(buf) + *r, n - *r);
    return static_cast<int64_t>(*r + (rest ? *rest : 0));
}

int64_t dax_pwrite(OpenFile* f, const void* buf, uint64_t len, uint64_t off) {
    ukfuse::Session* s = f->mount->session;
    ukfuse::DaxManager* d = s->dax();
    // O_APPEND: the server's handle appends wherever we say, so a file grown first by
    // SETATTR would get the bytes at its new end. FUSE WRITE, as Linux sends appends.
    if (!d || f->dir || (f->flags & VFS_O_APPEND)) return kDaxNotServed;
    const uint64_t end = off + len;  // bad_range() has ruled out overflow
    auto size = s->file_size(f->nodeid, f->handle.fh);
    if (!size) return kDaxNotServed;
    const uint64_t grown = end > *size ? end : *size;
    if (end > *size) {
        // Never shrink what another writer grew: ask before extending.
        auto fresh = s->file_size(f->nodeid, f->handle.fh, true);
        if (!fresh) return kDaxNotServed;
        if (end > *fresh) {
            fuse_setattr_in in{};
            in.valid = FATTR_SIZE | FATTR_FH;
            in.fh = f->handle.fh;
            in.size = end;
            auto a = s->setattr(f->nodeid, in);
            if (!a) return kDaxNotServed;  // FUSE WRITE then says why, or extends itself
            if (a->size < end) return kDaxNotServed;
        }
    }
    auto r = d->write(f->nodeid, ukfuse::kDaxInodeFh, off, buf, len, grown);
    if (!r) return kDaxNotServed;
    if (*r == len) return static_cast<int64_t>(len);
    auto rest = s->write(f->nodeid, f->handle.fh, off + *r, static_cast<const uint8_t*>(buf) + *r,
                         len - *r);
    return static_cast<int64_t>(*r + (rest ? *rest : 0));
}

}  // namespace vfs::guest::vfslib
