// ukfuse attribute and open-file operations: getattr, setattr, open/opendir, create,
// read, write, release, flush, fsync, lseek, fallocate, readdir(plus) (see session.h).
#include <linux/fcntl.h>
#include "lib/ukfuse/file_type.h"

#include "drivers/virtio_fs/poll_clock.h"
#include "lib/ukfuse/session.h"

namespace vfs::guest::ukfuse {

Result<fuse_attr> Session::getattr(uint64_t nodeid, const uint64_t* fh, bool fresh) {
    if (wb_.pending_for(nodeid)) (void)flush_write_behind();  // error kept for its handle
    if (!fresh) {
        Node* n = nodes_.find(nodeid);
        if (n && n->attr_cached && virtio_fs::poll_clock_ns() < n->attr_deadline) {
            ++counters_.attr_hits;
            return n->attr;
        }
    }
    fuse_getattr_in in{};
    if (fh) {
        in.getattr_flags = FUSE_GETATTR_FH;
        in.fh = *fh;
    }
    fuse_attr_out out{};
    auto rep = call(request(FUSE_GETATTR, nodeid, &in), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    if ((out.attr.mode & kTypeMask) == 0) return wire::Error{EPROTO};
    cache_attr(nodeid, out.attr, out.attr_valid, out.attr_valid_nsec);
    return out.attr;
}

Result<fuse_attr> Session::setattr(uint64_t nodeid, const fuse_setattr_in& in) {
    fuse_attr_out out{};
    drop_attr(nodeid);
    auto rep = call(request(FUSE_SETATTR, nodeid, &in), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    if ((out.attr.mode & kTypeMask) == 0) return wire::Error{EPROTO};
    cache_attr(nodeid, out.attr, out.attr_valid, out.attr_valid_nsec);
    return out.attr;
}

Result<OpenHandle> Session::open(uint64_t nodeid, uint32_t flags, bool dir) {
    fuse_open_in in{};
    // As Linux: creation flags were handled by the lookup/create that got us here.
    in.flags = flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC);
    fuse_open_out out{};
    auto rep = call(request(dir ? FUSE_OPENDIR : FUSE_OPEN, nodeid, &in), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    return OpenHandle{out.fh, out.open_flags};
}

Status Session::release(uint64_t nodeid, const OpenHandle& h, uint32_t flags, bool dir) {
    fuse_release_in in{};
    in.fh = h.fh;
    in.flags = flags;
    auto rep = call(request(dir ? FUSE_RELEASEDIR : FUSE_RELEASE, nodeid, &in), nullptr, 0);
    // A handle's kept write-behind error dies with it (its fh may be given out again).
    if (!dir) (void)wb_.take_error(nodeid, h.fh);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Result<Entry> Session::create(uint64_t parent, const char* name, uint32_t len, uint32_t flags,
                              uint32_t mode, OpenHandle* h) {
    fuse_create_in in{};
    in.flags = flags & ~O_NOCTTY;
    in.mode = mode;
    wire::CreateOut out{};
    wire::ClientRequest rq = request(FUSE_CREATE, parent, &in);
    rq.names[0] = wire::NameView{name, len};
    auto rep = call(rq, &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    drop_attr(parent);
    auto e = absorb_entry(parent, name, len, out.entry);
    if (!e) {
        // The server opened a file we cannot track: close it again.
        if (out.entry.nodeid != 0)
            (void)release(out.entry.nodeid, OpenHandle{out.open.fh, 0}, flags, false);
        return e;
    }
    *h = OpenHandle{out.open.fh, out.open.open_flags};
    return e;
}

Result<uint64_t> Session::rw(bool is_write, uint64_t nodeid, uint64_t fh, uint64_t off,
                             uint8_t* buf, uint64_t len) {
    const uint32_t chunk = is_write ? info_.max_write : info_.max_read;
    constexpr uint32_t kMaxWindow = 16;
    const uint32_t window = opts_.max_in_flight < kMaxWindow ? opts_.max_in_flight : kMaxWindow;
    // Up to `window` chunks in flight at once, across the request queues. Each chunk's
    // data is the caller's buffer, referenced in place.
    Pending pending[kMaxWindow];
    uint64_t asked[kMaxWindow] = {};
    uint64_t done = 0;
    bool short_io = false;
    int err = 0;
    uint64_t submitted = 0;
    while (done < len && !short_io && err == 0) {
        uint32_t n = 0;
        int start_err = 0;
        for (; n < window && submitted < len; ++n) {
            const uint64_t size = len - submitted < chunk ? len - submitted : chunk;
            wire::Segment seg{buf + submitted, static_cast<uint32_t>(size)};
            // Only the round's first chunk may wait for a slot: the others' slots stay
            // ours until collected below, so with every slot taken by this call, waiting
            // could only time out. A round then ends early instead.
            const bool may_wait = n == 0;
            Status s;
            if (is_write) {
                fuse_write_in in{};
                in.fh = fh;
                in.offset = off + submitted;
                in.size = static_cast<uint32_t>(size);
                wire::ClientRequest rq = request(FUSE_WRITE, nodeid, &in);
                rq.data = &seg;
                rq.data_count = 1;
                s = start(rq, nullptr, 0, &pending[n], may_wait);
            } else {
                fuse_read_in in{};
                in.fh = fh;
                in.offset = off + submitted;
                in.size = static_cast<uint32_t>(size);
                s = start(request(FUSE_READ, nodeid, &in), &seg, 1, &pending[n], may_wait);
            }
            if (!s) {
                if (may_wait || s.error() != EAGAIN) start_err = s.error();
                break;
            }
            asked[n] = size;
            submitted += size;
        }
        // Collect every chunk, in order: a short one ends the call at that point.
        for (uint32_t i = 0; i < n; ++i) {
            uint64_t got = 0;
            if (is_write) {
                fuse_write_out out{};
                auto rep = finish(&pending[i], &out, sizeof(out));
                if (!rep) {
                    if (!err) err = rep.error();
                    continue;
                }
                if (out.size > asked[i]) {
                    if (!err) err = EPROTO;  // wrote more than it was given
                    continue;
                }
                got = out.size;
            } else {
                auto rep = finish(&pending[i], nullptr, 0);
                if (!rep) {
                    if (!err) err = rep.error();
                    continue;
                }
                got = rep->data_len;
            }
            if (err || short_io) continue;
            done += got;
            if (got < asked[i]) short_io = true;
        }
        // The chunks before a failed start still count (they precede it in the file).
        if (!err && start_err) err = start_err;
    }
    drop_attr(nodeid);  // size and times may have changed (reads change atime)
    if (done == 0 && err != 0) return wire::Error{err};
    return done;
}

Result<uint64_t> Session::read(uint64_t nodeid, uint64_t fh, uint64_t off, void* buf,
                               uint64_t len) {
    return rw(false, nodeid, fh, off, static_cast<uint8_t*>(buf), len);
}

Result<uint64_t> Session::write(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf,
                                uint64_t len) {
    // The device only reads this buffer: the descriptors say so.
    auto* data = const_cast<uint8_t*>(static_cast<const uint8_t*>(buf));
    if (!wb_.on()) return rw(true, nodeid, fh, off, data, len);
    if (auto e = wb_.take_error(nodeid, fh); !e) return wire::Error{e.error()};
    if (wb_.can_take(nodeid, fh, off, len)) {
        if (!wb_.fits(len)) {
            if (auto s = flush_write_behind(); !s) {
                (void)wb_.take_error(nodeid, fh);  // reported here, not again
                return wire::Error{s.error()};
            }
        }
        wb_.take(nodeid, fh, off, buf, len);
        if (wb_.full()) (void)flush_write_behind();  // an error waits for the next call
        return len;
    }
    auto n = rw(true, nodeid, fh, off, data, len);
    if (n) wb_.note_write(nodeid, fh, off + *n);  // where a sequential run would go on
    return n;
}

Status Session::flush(uint64_t nodeid, uint64_t fh) {
    const Status wb = write_behind_sync(nodeid, fh);
    fuse_flush_in in{};
    in.fh = fh;
    auto rep = call(request(FUSE_FLUSH, nodeid, &in), nullptr, 0);
    if (!wb) return wb;
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Status Session::fsync(uint64_t nodeid, uint64_t fh, bool datasync, bool dir) {
    const Status wb = dir ? Status{} : write_behind_sync(nodeid, fh);
    if (!wb) {
        // The bytes that failed are gone; still ask the server to sync what it has.
        fuse_fsync_in in{};
        in.fh = fh;
        in.fsync_flags = datasync ? 1 : 0;
        (void)call(request(FUSE_FSYNC, nodeid, &in), nullptr, 0);
        return wb;
    }
    fuse_fsync_in in{};
    in.fh = fh;
    in.fsync_flags = datasync ? 1 : 0;
    auto rep = call(request(dir ? FUSE_FSYNCDIR : FUSE_FSYNC, nodeid, &in), nullptr, 0);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Result<uint64_t> Session::lseek(uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t whence) {
    fuse_lseek_in in{};
    in.fh = fh;
    in.offset = off;
    in.whence = whence;
    fuse_lseek_out out{};
    auto rep = call(request(FUSE_LSEEK, nodeid, &in), &out, sizeof(out));
    if (!rep) return wire::Error{rep.error()};
    return out.offset;
}

Status Session::fallocate(uint64_t nodeid, uint64_t fh, uint32_t mode, uint64_t off, uint64_t len) {
    fuse_fallocate_in in{};
    in.fh = fh;
    in.offset = off;
    in.length = len;
    in.mode = mode;
    auto rep = call(request(FUSE_FALLOCATE, nodeid, &in), nullptr, 0);
    drop_attr(nodeid);
    if (!rep) return wire::Error{rep.error()};
    return {};
}

Result<uint32_t> Session::readdir(uint64_t nodeid, uint64_t fh, uint64_t off, uint8_t* buf,
                                  uint32_t cap) {
    fuse_read_in in{};
    in.fh = fh;
    in.offset = off;
    in.size = cap;
    const wire::Segment data{buf, cap};
    auto rep = call(request(info_.readdirplus ? FUSE_READDIRPLUS : FUSE_READDIR, nodeid, &in),
                    nullptr, 0, &data, 1);
    if (!rep) return wire::Error{rep.error()};
    return static_cast<uint32_t>(rep->data_len);
}

}  // namespace vfs::guest::ukfuse
