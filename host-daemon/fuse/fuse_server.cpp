#include "fuse/fuse_server.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string_view>
#include <vector>

namespace vfs::host {

using vfs::wire::Bytes;
using vfs::wire::DirentPacker;
using vfs::wire::ParsedRequest;
using vfs::wire::SgReader;
using vfs::wire::SgWriter;
using vfs::wire::Status;

namespace {

// Buffered writes up to this size are copied inline (see start_write); bigger ones go
// through the ring, where the copy does not hold up the other requests of the queue.
constexpr uint32_t kInlineWriteMax = 128u << 10;

enum Cookie : uint32_t {
    kCookieRead = 1,
    kCookieWrite = 2,
    kCookieFsync = 3,
    kCookieFallocate = 4
};

uint32_t written(const SgWriter& w) {
    return static_cast<uint32_t>(w.written());
}

uint32_t error_reply(SgWriter& w, uint64_t unique, int err) {
    (void)vfs::wire::reply_error(w, unique, err);
    return written(w);
}

// A reply that did not fit becomes an error reply, which needs only the header.
uint32_t sent(SgWriter& w, uint64_t unique, Status s) {
    return s ? written(w) : error_reply(w, unique, s.error());
}

std::string_view name_of(const ParsedRequest& req, uint32_t i) {
    const vfs::wire::NameView n = req.name(i);
    return {n.data, n.len};
}

bool fits_off_t(uint64_t v) {
    return v <= static_cast<uint64_t>(INT64_MAX);
}

}  // namespace

struct FuseServer::QueueState {
    explicit QueueState(uint32_t n) : slots(n) {}
    std::vector<std::unique_ptr<SlotState>> slots;
};

FuseServer::FuseServer(Filesystem& fs, const FsOptions& opts) : fs_(fs), opts_(opts) {}

FuseServer::~FuseServer() {
    for (auto& q : queues_)
        delete q.load();
}

FuseServer::SlotState& FuseServer::slot_state(QueueContext& ctx, RequestSlot& slot) {
    // Only this queue's worker thread touches its QueueState; the lock guards creation
    // against the destructor and other queues' creation, never the request path.
    std::atomic<QueueState*>& cell = queues_[ctx.queue_index()];
    QueueState* q = cell.load(std::memory_order_acquire);
    if (!q || q->slots.size() != ctx.slot_count()) {
        std::lock_guard lock(queues_mu_);
        delete q;
        q = new QueueState(ctx.slot_count());
        cell.store(q, std::memory_order_release);
    }
    auto& s = q->slots[slot.index];
    if (!s) s = std::make_unique<SlotState>();  // once per slot, on first use
    return *s;
}

void FuseServer::handle(QueueContext& ctx, RequestSlot& slot) {
    if (ctx.queue_index() >= kMaxQueues || slot.index >= ctx.slot_count()) {
        ctx.mark_broken("queue or slot index beyond the FUSE server's tables");
        ctx.complete(slot, 0);
        return;
    }
    SlotState& st = slot_state(ctx, slot);
    SgReader r(slot.chain.readable(), slot.chain.n_readable);
    SgWriter w(slot.chain.writable(), slot.chain.n_writable);
    ParsedRequest& req = st.req;
    const Status parsed = vfs::wire::parse_request(r, session_.proto(), &req);
    if (!parsed) {
        ctx.complete(slot,
                     req.wants_reply() ? error_reply(w, req.header.unique, parsed.error()) : 0);
        return;
    }
    // No request carries more than a WRITE of max_write: refusing bigger payloads here
    // bounds what SETXATTR buffers and BATCH_FORGET loops over, whatever the guest claims.
    if (req.payload_len > kMaxPayload) {
        ctx.complete(slot, req.wants_reply() ? error_reply(w, req.header.unique, E2BIG) : 0);
        return;
    }
    bool async = false;
    const uint32_t len = dispatch(ctx, slot, st, r, w, &async);
    if (!async) ctx.complete(slot, len);
}

void FuseServer::on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                                int32_t result) {
    SlotState& st = slot_state(ctx, slot);
    ctx.complete(slot, finish_io(st, cookie, result));
}

uint32_t FuseServer::dispatch(QueueContext& ctx, RequestSlot& slot, SlotState& st, SgReader& r,
                              SgWriter& w, bool* async) {
    const ParsedRequest& req = st.req;
    const fuse_in_header& h = req.header;
    const uint64_t unique = h.unique;
    if (req.op == nullptr) return error_reply(w, unique, ENOSYS);
    if (h.opcode == FUSE_INIT) {
        if (session_.initialized()) {
            // On virtio-fs a second INIT means the guest rebooted without unmounting (a
            // crash, reset or kexec): nothing of the old session is valid any more. Start
            // over, as QEMU's virtiofsd does, instead of leaving the share unmountable.
            fs_.reset();
            session_.end();
        }
        return do_init(st, w);
    }
    if (!session_.initialized()) {
        return req.wants_reply() ? error_reply(w, unique, EIO) : 0;
    }
    const uint32_t minor = session_.proto().minor;
    const RequestContext rc{h.uid, h.gid, h.pid};

    // KILLPRIV_V2 flags only count when it was negotiated; the filesystem decides
    // whether the file may change (a read-only share refuses).
    const bool killpriv = session_.flags() & FUSE_HANDLE_KILLPRIV_V2;
    auto kill_suid_sgid_of = [&](uint64_t fh) {
        if (killpriv) (void)fs_.kill_suid_sgid(fh);
    };

    // Entry replies count as lookups: one that cannot be delivered must be given back.
    auto entry_reply = [&](const Result<fuse_entry_out>& e) -> uint32_t {
        if (!e) return error_reply(w, unique, e.error());
        const Status s = vfs::wire::reply_entry(w, unique, minor, *e);
        if (!s) fs_.forget(e->nodeid, 1);
        return sent(w, unique, s);
    };
    auto create_reply = [&](const Result<CreateResult>& c) -> uint32_t {
        if (!c) return error_reply(w, unique, c.error());
        const Status s = vfs::wire::reply_create(w, unique, minor, c->entry, c->open);
        if (!s) {
            fs_.forget(c->entry.nodeid, 1);
            (void)fs_.release(c->open.fh, 0, 0);
        }
        return sent(w, unique, s);
    };
    auto status_reply = [&](const Status& s) -> uint32_t {
        return s ? sent(w, unique, vfs::wire::reply_empty(w, unique))
                 : error_reply(w, unique, s.error());
    };
    auto open_reply = [&](const Result<fuse_open_out>& o, bool dir) -> uint32_t {
        if (!o) return error_reply(w, unique, o.error());
        const Status s = vfs::wire::reply_struct(w, unique, *o);
        if (!s) (void)(dir ? fs_.releasedir(o->fh) : fs_.release(o->fh, 0, 0));
        return sent(w, unique, s);
    };

    switch (h.opcode) {
        case FUSE_LOOKUP:
            return entry_reply(fs_.lookup(rc, h.nodeid, name_of(req, 0)));
        case FUSE_FORGET:
            fs_.forget(h.nodeid, req.arg<fuse_forget_in>().nlookup);
            return 0;
        case FUSE_BATCH_FORGET:
            return do_batch_forget(st, r);
        case FUSE_GETATTR: {
            const auto in = req.arg<fuse_getattr_in>();
            const bool by_fh = in.getattr_flags & FUSE_GETATTR_FH;
            auto a = fs_.getattr(h.nodeid, by_fh ? &in.fh : nullptr);
            if (!a) return error_reply(w, unique, a.error());
            return sent(w, unique, vfs::wire::reply_attr(w, unique, minor, *a));
        }
        case FUSE_SETATTR: {
            auto a = fs_.setattr(rc, h.nodeid, req.arg<fuse_setattr_in>());
            if (!a) return error_reply(w, unique, a.error());
            return sent(w, unique, vfs::wire::reply_attr(w, unique, minor, *a));
        }
        case FUSE_READLINK: {
            static thread_local char target[PATH_MAX];
            auto n = fs_.readlink(h.nodeid, target, sizeof(target));
            if (!n) return error_reply(w, unique, n.error());
            return sent(w, unique, vfs::wire::reply_data(w, unique, target, *n));
        }
        case FUSE_SYMLINK:
            return entry_reply(fs_.symlink(rc, h.nodeid, name_of(req, 0), name_of(req, 1)));
        case FUSE_MKNOD: {
            const auto in = req.arg<fuse_mknod_in>();
            return entry_reply(
                fs_.mknod(rc, h.nodeid, name_of(req, 0), in.mode, in.rdev, in.umask));
        }
        case FUSE_MKDIR: {
            const auto in = req.arg<fuse_mkdir_in>();
            return entry_reply(fs_.mkdir(rc, h.nodeid, name_of(req, 0), in.mode, in.umask));
        }
        case FUSE_UNLINK:
            return status_reply(fs_.unlink(rc, h.nodeid, name_of(req, 0)));
        case FUSE_RMDIR:
            return status_reply(fs_.rmdir(rc, h.nodeid, name_of(req, 0)));
        case FUSE_RENAME:
            return status_reply(fs_.rename(rc, h.nodeid, name_of(req, 0),
                                           req.arg<fuse_rename_in>().newdir, name_of(req, 1), 0));
        case FUSE_RENAME2: {
            const auto in = req.arg<fuse_rename2_in>();
            return status_reply(
                fs_.rename(rc, h.nodeid, name_of(req, 0), in.newdir, name_of(req, 1), in.flags));
        }
        case FUSE_LINK:
            return entry_reply(
                fs_.link(rc, req.arg<fuse_link_in>().oldnodeid, h.nodeid, name_of(req, 0)));
        case FUSE_OPEN: {
            const auto in = req.arg<fuse_open_in>();
            auto o = fs_.open(rc, h.nodeid, in.flags);
            if (o && (in.open_flags & FUSE_OPEN_KILL_SUIDGID)) kill_suid_sgid_of(o->fh);
            return open_reply(o, false);
        }
        case FUSE_READ:
            return start_read(ctx, slot, st, w, async);
        case FUSE_WRITE:
            return start_write(ctx, slot, st, r, w, async);
        case FUSE_STATFS: {
            auto s = fs_.statfs(h.nodeid);
            if (!s) return error_reply(w, unique, s.error());
            fuse_statfs_out out{};
            out.st = *s;
            return sent(w, unique, vfs::wire::reply_statfs(w, unique, minor, out));
        }
        case FUSE_RELEASE: {
            const auto in = req.arg<fuse_release_in>();
            return status_reply(fs_.release(in.fh, in.release_flags, in.lock_owner));
        }
        case FUSE_FSYNC:
            return start_fsync(ctx, slot, st, w, async, false);
        case FUSE_SETXATTR: {
            const auto in = req.arg<fuse_setxattr_in>();
            if (in.size > XATTR_SIZE_MAX) return error_reply(w, unique, E2BIG);
            // The value is small (XATTR_SIZE_MAX) and must be contiguous for the syscall.
            static thread_local std::vector<uint8_t> value;
            value.resize(in.size);
            if (Status s = r.read(value.data(), in.size); !s) return error_reply(w, unique, EINVAL);
            return status_reply(
                fs_.setxattr(h.nodeid, name_of(req, 0), value.data(), in.size, in.flags));
        }
        case FUSE_GETXATTR:
            return do_getxattr(st, w, false);
        case FUSE_LISTXATTR:
            return do_getxattr(st, w, true);
        case FUSE_REMOVEXATTR:
            return status_reply(fs_.removexattr(h.nodeid, name_of(req, 0)));
        case FUSE_FLUSH: {
            const auto in = req.arg<fuse_flush_in>();
            return status_reply(fs_.flush(in.fh, in.lock_owner));
        }
        case FUSE_OPENDIR:
            return open_reply(fs_.opendir(rc, h.nodeid, req.arg<fuse_open_in>().flags), true);
        case FUSE_READDIR:
            return do_readdir(st, w, false);
        case FUSE_READDIRPLUS:
            return do_readdir(st, w, true);
        case FUSE_RELEASEDIR:
            return status_reply(fs_.releasedir(req.arg<fuse_release_in>().fh));
        case FUSE_FSYNCDIR:
            return start_fsync(ctx, slot, st, w, async, true);
        case FUSE_CREATE: {
            const auto in = req.arg<fuse_create_in>();
            auto c = fs_.create(rc, h.nodeid, name_of(req, 0), in.mode, in.flags, in.umask);
            if (c && (in.open_flags & FUSE_OPEN_KILL_SUIDGID)) kill_suid_sgid_of(c->open.fh);
            return create_reply(c);
        }
        case FUSE_TMPFILE: {
            const auto in = req.arg<fuse_create_in>();
            return create_reply(fs_.tmpfile(rc, h.nodeid, in.mode, in.flags, in.umask));
        }
        case FUSE_INTERRUPT:  // nothing here blocks long enough to be worth interrupting
        case FUSE_NOTIFY_REPLY:
            return 0;
        case FUSE_DESTROY:
            fs_.reset();
            session_.end();
            return status_reply(Status{});
        case FUSE_FALLOCATE:
            return start_fallocate(ctx, slot, st, w, async);
        case FUSE_LSEEK: {
            const auto in = req.arg<fuse_lseek_in>();
            auto off = fs_.lseek(in.fh, in.offset, in.whence);
            if (!off) return error_reply(w, unique, off.error());
            fuse_lseek_out out{};
            out.offset = *off;
            return sent(w, unique, vfs::wire::reply_struct(w, unique, out));
        }
        case FUSE_COPY_FILE_RANGE: {
            const auto in = req.arg<fuse_copy_file_range_in>();
            auto n = fs_.copy_file_range(in.fh_in, in.off_in, in.fh_out, in.off_out,
                                         std::min<uint64_t>(in.len, kMaxWrite),
                                         static_cast<uint32_t>(in.flags));
            if (!n) return error_reply(w, unique, n.error());
            fuse_write_out out{};
            out.size = static_cast<uint32_t>(*n);
            return sent(w, unique, vfs::wire::reply_struct(w, unique, out));
        }
        case FUSE_SYNCFS:
            return status_reply(fs_.syncfs());
        case FUSE_GETLK: {
            auto lk = fs_.getlk(h.nodeid, req.arg<fuse_lk_in>());
            if (!lk) return error_reply(w, unique, lk.error());
            fuse_lk_out out{};
            out.lk = *lk;
            return sent(w, unique, vfs::wire::reply_struct(w, unique, out));
        }
        case FUSE_SETLK:
        case FUSE_SETLKW:
            // Without -o posix_lock/-o flock the filesystem answers ENOSYS (INIT did not
            // offer them, so a well-behaved guest keeps its locks local).
            return status_reply(
                fs_.setlk(h.nodeid, req.arg<fuse_lk_in>(), h.opcode == FUSE_SETLKW));
        default:
            // ACCESS (the guest mounts with default_permissions), BMAP, IOCTL,
            // POLL, and SETUPMAPPING/REMOVEMAPPING (DAX is planned, not built).
            return error_reply(w, unique, ENOSYS);
    }
}

uint32_t FuseServer::do_init(SlotState& st, SgWriter& w) {
    const uint64_t unique = st.req.header.unique;
    auto n = negotiate_init(st.req.arg<fuse_init_in>(), st.req.arg_len, opts_);
    if (!n) return error_reply(w, unique, n.error());
    if (!session_.begin(*n)) return error_reply(w, unique, EPROTO);
    const Status s = vfs::wire::reply_init(w, unique, n->out);
    if (!s) session_.end();
    return sent(w, unique, s);
}

uint32_t FuseServer::do_batch_forget(SlotState& st, SgReader& r) {
    // The parser checked count * sizeof(fuse_forget_one) == the payload it left us.
    const uint32_t count = st.req.arg<fuse_batch_forget_in>().count;
    for (uint32_t i = 0; i < count; ++i) {
        fuse_forget_one one{};
        if (!r.read_obj(&one)) break;
        fs_.forget(one.nodeid, one.nlookup);
    }
    return 0;
}

uint32_t FuseServer::do_readdir(SlotState& st, SgWriter& w, bool plus) {
    const fuse_in_header& h = st.req.header;
    const auto in = st.req.arg<fuse_read_in>();
    auto p = vfs::wire::reply_begin(w, h.unique);
    if (!p) return 0;  // not even room for a header
    DirentPacker packer(w, std::min<uint64_t>(in.size, w.remaining()));
    const RequestContext rc{h.uid, h.gid, h.pid};
    const Status s = fs_.readdir(rc, in.fh, in.offset, plus, [&](const DirEntry& de) {
        const auto len = static_cast<uint32_t>(de.name.size());
        const Status added =
            de.entry ? packer.add_plus(*de.entry, de.next_offset, de.type, de.name.data(), len)
                     : packer.add(de.ino, de.next_offset, de.type, de.name.data(), len);
        return added.ok() || added.error() != ERANGE;  // skip a bad name, stop when full
    });
    if (!s) {
        (void)vfs::wire::reply_abort(*p, s.error());
        return sizeof(fuse_out_header);
    }
    auto total = vfs::wire::reply_finish(*p, w, packer.bytes());
    return total ? *total : 0;
}

uint32_t FuseServer::do_getxattr(SlotState& st, SgWriter& w, bool list) {
    const uint64_t unique = st.req.header.unique;
    const uint64_t nodeid = st.req.header.nodeid;
    const uint32_t size = st.req.arg<fuse_getxattr_in>().size;
    static thread_local std::vector<char> buf(XATTR_SIZE_MAX);
    const size_t cap = std::min<size_t>(size, buf.size());
    auto n = list ? fs_.listxattr(nodeid, cap ? buf.data() : nullptr, cap)
                  : fs_.getxattr(nodeid, name_of(st.req, 0), cap ? buf.data() : nullptr, cap);
    if (!n) return error_reply(w, unique, n.error());
    if (size == 0) {
        fuse_getxattr_out out{};
        out.size = static_cast<uint32_t>(*n);
        return sent(w, unique, vfs::wire::reply_struct(w, unique, out));
    }
    return sent(w, unique, vfs::wire::reply_data(w, unique, buf.data(), *n));
}

uint32_t FuseServer::start_read(QueueContext& ctx, RequestSlot& slot, SlotState& st, SgWriter& w,
                                bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_read_in>();
    if (!fits_off_t(in.offset)) return error_reply(w, unique, EINVAL);
    bool direct = false;
    const int fd = fs_.data_fd(in.fh, &st.keep, &direct);
    if (fd < 0) return error_reply(w, unique, EBADF);
    auto p = vfs::wire::reply_begin(w, unique);
    if (!p) return 0;
    st.pending = *p;
    const uint64_t size = std::min<uint64_t>({in.size, w.remaining(), kMaxWrite});
    auto n = w.take_segments(size, st.segs.data(), kMaxChainSegments);
    if (!n) return finish_io(st, kCookieRead, -EINVAL);
    st.writer = w;
    for (uint32_t i = 0; i < *n; ++i)
        st.iov[i] = {st.segs[i].data, st.segs[i].len};
    if (*n == 0) return finish_io(st, kCookieRead, 0);
    // Data already in the page cache is copied right here: RWF_NOWAIT never blocks, and
    // this skips a ring round trip per read. Only what would wait for the disk (EAGAIN,
    // or a short read that may be a partly cached range) goes through the ring.
    // (O_DIRECT reads always wait for the device: straight to the ring.)
    const ssize_t cached = direct ? -1
                                  : preadv2(fd, st.iov.data(), static_cast<int>(*n),
                                            static_cast<off_t>(in.offset), RWF_NOWAIT);
    if (cached == static_cast<ssize_t>(size)) return finish_io(st, kCookieRead, cached);
    if (cached < 0 && !direct && errno != EAGAIN && errno != EOPNOTSUPP)
        return finish_io(st, kCookieRead, -errno);
    io_uring_sqe* sqe = ctx.get_sqe(slot, kCookieRead);
    if (!sqe) {
        // A full ring: serve it inline; the result is the same.
        const ssize_t got =
            preadv(fd, st.iov.data(), static_cast<int>(*n), static_cast<off_t>(in.offset));
        return finish_io(st, kCookieRead, got < 0 ? -errno : static_cast<int32_t>(got));
    }
    io_uring_prep_readv(sqe, fd, st.iov.data(), *n, in.offset);
    *async = true;
    return 0;
}

uint32_t FuseServer::start_write(QueueContext& ctx, RequestSlot& slot, SlotState& st, SgReader& r,
                                 SgWriter& w, bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_write_in>();
    if (!fits_off_t(in.offset) || in.size > kMaxWrite) return error_reply(w, unique, EINVAL);
    bool direct = false;
    const int fd = fs_.data_fd(in.fh, &st.keep, &direct);
    if (fd < 0) return error_reply(w, unique, EBADF);
    st.kill_suid_sgid =
        (in.write_flags & FUSE_WRITE_KILL_SUIDGID) && (session_.flags() & FUSE_HANDLE_KILLPRIV_V2);
    st.fh = in.fh;
    auto n = r.take_segments(in.size, st.segs.data(), kMaxChainSegments);
    if (!n) return error_reply(w, unique, EINVAL);
    st.writer = w;
    st.write_size = in.size;
    for (uint32_t i = 0; i < *n; ++i)
        st.iov[i] = {st.segs[i].data, st.segs[i].len};
    if (*n == 0) return finish_io(st, kCookieWrite, 0);
    // Small buffered writes are copied into the page cache inline: ext4 and most filesystems
    // cannot do them without blocking (RWF_NOWAIT gives EOPNOTSUPP), so io_uring would
    // punt each one to a kernel worker thread, a context switch per small write.
    if (!direct && in.size <= kInlineWriteMax) {
        const ssize_t put =
            pwritev(fd, st.iov.data(), static_cast<int>(*n), static_cast<off_t>(in.offset));
        return finish_io(st, kCookieWrite, put < 0 ? -errno : static_cast<int32_t>(put));
    }
    io_uring_sqe* sqe = ctx.get_sqe(slot, kCookieWrite);
    if (!sqe) {
        const ssize_t put =
            pwritev(fd, st.iov.data(), static_cast<int>(*n), static_cast<off_t>(in.offset));
        return finish_io(st, kCookieWrite, put < 0 ? -errno : static_cast<int32_t>(put));
    }
    io_uring_prep_writev(sqe, fd, st.iov.data(), *n, in.offset);
    *async = true;
    return 0;
}

uint32_t FuseServer::start_fsync(QueueContext& ctx, RequestSlot& slot, SlotState& st, SgWriter& w,
                                 bool* async, bool dir) {
    const auto in = st.req.arg<fuse_fsync_in>();
    const bool datasync = in.fsync_flags & 1;
    if (dir) {
        const Status s = fs_.fsyncdir(in.fh, datasync);
        return s ? sent(w, st.req.header.unique, vfs::wire::reply_empty(w, st.req.header.unique))
                 : error_reply(w, st.req.header.unique, s.error());
    }
    const int fd = fs_.data_fd(in.fh, &st.keep);
    if (fd < 0) return error_reply(w, st.req.header.unique, EBADF);
    st.writer = w;
    io_uring_sqe* sqe = ctx.get_sqe(slot, kCookieFsync);
    if (!sqe) {
        const int r = datasync ? fdatasync(fd) : ::fsync(fd);
        return finish_io(st, kCookieFsync, r < 0 ? -errno : 0);
    }
    io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
    *async = true;
    return 0;
}

uint32_t FuseServer::start_fallocate(QueueContext& ctx, RequestSlot& slot, SlotState& st,
                                     SgWriter& w, bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_fallocate_in>();
    if (!fits_off_t(in.offset) || !fits_off_t(in.length)) return error_reply(w, unique, EINVAL);
    const int fd = fs_.data_fd(in.fh, &st.keep);
    if (fd < 0) return error_reply(w, unique, EBADF);
    st.writer = w;
    io_uring_sqe* sqe = ctx.get_sqe(slot, kCookieFallocate);
    if (!sqe) {
        const int r = ::fallocate(fd, static_cast<int>(in.mode), static_cast<off_t>(in.offset),
                                  static_cast<off_t>(in.length));
        return finish_io(st, kCookieFallocate, r < 0 ? -errno : 0);
    }
    io_uring_prep_fallocate(sqe, fd, static_cast<int>(in.mode), in.offset, in.length);
    *async = true;
    return 0;
}

uint32_t FuseServer::finish_io(SlotState& st, uint32_t cookie, int32_t result) {
    st.keep.reset();
    const uint64_t unique = st.req.header.unique;
    SgWriter& w = st.writer;
    switch (cookie) {
        case kCookieRead: {
            if (result < 0) {
                (void)vfs::wire::reply_abort(st.pending, -result);
                return sizeof(fuse_out_header);
            }
            auto total = vfs::wire::reply_finish(st.pending, w, static_cast<uint64_t>(result));
            return total ? *total : 0;
        }
        case kCookieWrite: {
            if (result < 0) return error_reply(w, unique, -result);
            if (st.kill_suid_sgid) (void)fs_.kill_suid_sgid(st.fh);
            fuse_write_out out{};
            out.size = static_cast<uint32_t>(result);
            return sent(w, unique, vfs::wire::reply_struct(w, unique, out));
        }
        case kCookieFsync:
        case kCookieFallocate:
            if (result < 0) return error_reply(w, unique, -result);
            return sent(w, unique, vfs::wire::reply_empty(w, unique));
        default:
            return error_reply(w, unique, EIO);
    }
}

}  // namespace vfs::host
