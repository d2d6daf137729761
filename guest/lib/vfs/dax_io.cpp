// vfs reads and writes through the DAX window (see dax_io.h).
#include "lib/vfs/dax_io.h"

#include <linux/fuse.h>

#include "lib/ukfuse/dax_file_write.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {

int64_t dax_pread(OpenFile* f, void* buf, uint64_t len, uint64_t off) {
    ukfuse::Session* s = f->mount->session;
    ukfuse::DaxManager* d = s->dax();
    if (!d || f->dir) return kDaxNotServed;
    // The window shows the host file: a write-behind run of this file goes out first.
    (void)s->before_window(f->nodeid, f->handle.fh, off, false);
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

namespace {

// FUSE WRITE on the open file's handle, for what dax_file_write does not store in the window.
class HandleWriter final : public ukfuse::DaxFuseWriter {
  public:
    HandleWriter(ukfuse::Session* s, const OpenFile* f) : s_(s), f_(f) {}
    wire::Result<uint64_t> fuse_write(uint64_t off, const void* buf, uint64_t len) override {
        return s_->write(f_->nodeid, f_->handle.fh, off, buf, len);
    }

  private:
    ukfuse::Session* s_;
    const OpenFile* f_;
};

}  // namespace

int64_t dax_pwrite(OpenFile* f, const void* buf, uint64_t len, uint64_t off) {
    ukfuse::Session* s = f->mount->session;
    ukfuse::DaxManager* d = s->dax();
    // O_APPEND: the server's handle appends wherever we say; FUSE WRITE, as Linux sends
    // appends.
    if (!d || f->dir || (f->flags & VFS_O_APPEND)) return kDaxNotServed;
    // A write-behind run of this file goes out first unless this write continues it (then
    // it extends the file and joins the run through the FUSE writer below); an error a
    // flush kept for this handle is this call's.
    if (auto e = s->before_window(f->nodeid, f->handle.fh, off, true); !e)
        return -static_cast<int64_t>(e.error());
    auto size = s->file_size(f->nodeid, f->handle.fh);
    if (!size) return kDaxNotServed;
    uint64_t sz = *size;
    HandleWriter fuse(s, f);
    auto r = ukfuse::dax_file_write(*d, fuse, f->nodeid, off, buf, len, &sz);
    if (!r) return -static_cast<int64_t>(r.error());
    // Sequential growth then costs one FUSE WRITE per call, no GETATTR.
    s->note_size(f->nodeid, sz);
    return static_cast<int64_t>(*r);
}

}  // namespace vfs::guest::vfslib
