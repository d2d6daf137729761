#include "fuse/fuse_server.h"

#include <linux/limits.h>
#include <sys/xattr.h>

#include <algorithm>
#include <climits>
#include <new>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

namespace vfs::host {

using vfs::wire::Bytes;
using vfs::wire::DirentPacker;
using vfs::wire::ParsedRequest;
using vfs::wire::SgReader;
using vfs::wire::SgWriter;
using vfs::wire::Status;

namespace {

// Which data operation a slot's I/O completion belongs to.
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

// The reply to a request whose handling ran out of memory (std::bad_alloc from the
// filesystem's tables or a name's copy): ENOMEM in a writer of its own, since the one in use
// may hold half a reply. The daemon serves on; the guest may try again.
uint32_t out_of_memory_reply(const RequestSlot& slot, const ParsedRequest& req) {
    if (!req.wants_reply()) return 0;
    SgWriter w(slot.chain.writable(), slot.chain.n_writable);
    return error_reply(w, req.header.unique, ENOMEM);
}

std::string_view name_of(const ParsedRequest& req, uint32_t i) {
    const vfs::wire::NameView n = req.name(i);
    return {n.data, n.len};
}

bool fits_off_t(uint64_t v) {
    return v <= static_cast<uint64_t>(INT64_MAX);
}

// Describes the next `size` bytes of the chain in the slot's iovecs, for the engine to
// move the data straight between them and the file.
template <class Sg>
Result<uint32_t> take_iovecs(Sg& sg, uint64_t size, iovec* iov) {
    return sg.take_segments_to(size, kMaxChainSegments,
                               [iov](uint32_t i, uint8_t* data, uint32_t len) {
                                   iov[i] = {data, len};
                               });
}

// Requests that may wait on the file system (a slow disk, a network file system), and so
// run on the queue's thread pool when it has one: the metadata calls. Not the data
// operations: the I/O engine keeps READ, FSYNC, FSYNCDIR, FALLOCATE and large or O_DIRECT
// WRITEs off the worker (RWF_NOWAIT, or the ring), and start_write offloads the small
// buffered WRITE it would do inline. Not FORGET (no reply; it only drops references), nor
// INIT and DESTROY, which reset the filesystem and wait for the pool instead. An opcode not
// named here stays on the worker.
bool runs_on_pool(uint32_t opcode) {
    switch (opcode) {
        case FUSE_LOOKUP:
        case FUSE_GETATTR:
        case FUSE_SETATTR:
        case FUSE_READLINK:
        case FUSE_SYMLINK:
        case FUSE_MKNOD:
        case FUSE_MKDIR:
        case FUSE_UNLINK:
        case FUSE_RMDIR:
        case FUSE_RENAME:
        case FUSE_RENAME2:
        case FUSE_LINK:
        case FUSE_OPEN:
        case FUSE_STATFS:
        case FUSE_RELEASE:
        case FUSE_SETXATTR:
        case FUSE_GETXATTR:
        case FUSE_LISTXATTR:
        case FUSE_REMOVEXATTR:
        case FUSE_FLUSH:
        case FUSE_OPENDIR:
        case FUSE_READDIR:
        case FUSE_READDIRPLUS:
        case FUSE_RELEASEDIR:
        case FUSE_CREATE:
        case FUSE_TMPFILE:
        case FUSE_LSEEK:
        case FUSE_COPY_FILE_RANGE:
        case FUSE_SYNCFS:
        case FUSE_GETLK:
        case FUSE_SETLK:
        case FUSE_SETLKW:
            return true;
        default:
            return false;
    }
}

}  // namespace

// One queue's requests: a RequestState per slot, all made when the queue starts.
class FuseServer::Queue final : public QueueHandler {
  public:
    Queue(FuseServer& server, uint32_t slot_count) : server_(server), states_(slot_count) {}
    ~Queue() override {
        if (spdlog::should_log(spdlog::level::debug))
            spdlog::debug("fuse requests on this queue: {}", counts_.summary());
    }

    void handle(QueueContext& ctx, RequestSlot& slot) override {
        if (slot.index >= states_.size()) {
            ctx.mark_broken("slot index beyond the FUSE server's request states");
            ctx.complete(slot, 0);
            return;
        }
        server_.handle(ctx, slot, states_[slot.index], counts_);
    }
    void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                        int32_t result) override {
        if (slot.index >= states_.size()) return ctx.complete(slot, 0);
        uint32_t len;
        try {
            len = server_.finish_io(states_[slot.index], cookie, result);
        } catch (const std::bad_alloc&) {
            len = out_of_memory_reply(slot, states_[slot.index].req);
        }
        ctx.complete(slot, len);
    }
    uint32_t run_offloaded(RequestSlot& slot) override {
        if (slot.index >= states_.size()) return 0;
        return server_.run_offloaded(slot, states_[slot.index]);
    }

  private:
    FuseServer& server_;
    std::vector<RequestState> states_;
    RequestCounts counts_;  // only the worker's thread adds to it
};

FuseServer::FuseServer(Filesystem& fs, const FsOptions& opts, DaxMappings* dax)
    : fs_(fs), opts_(opts), dax_(dax) {}

std::unique_ptr<QueueHandler> FuseServer::start_queue(uint32_t, uint32_t slot_count) {
    return std::make_unique<Queue>(*this, slot_count);
}

void FuseServer::handle(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                        RequestCounts& counts) {
    SgReader r(slot.chain.readable(), slot.chain.n_readable);
    SgWriter w(slot.chain.writable(), slot.chain.n_writable);
    ParsedRequest& req = st.req;
    const Status parsed = vfs::wire::parse_request(r, session_.proto(), &req);
    if (!parsed) {
        ctx.complete(slot,
                     req.wants_reply() ? error_reply(w, req.header.unique, parsed.error()) : 0);
        return;
    }
    const uint32_t opcode = req.header.opcode;
    counts.add(opcode, opcode == FUSE_READ    ? req.arg<fuse_read_in>().size
                       : opcode == FUSE_WRITE ? req.arg<fuse_write_in>().size
                                              : 0);
    // No request carries more than a WRITE of max_write: refusing bigger payloads here
    // bounds what SETXATTR buffers and BATCH_FORGET loops over, whatever the guest claims.
    if (req.payload_len > kMaxPayload) {
        ctx.complete(slot, req.wants_reply() ? error_reply(w, req.header.unique, E2BIG) : 0);
        return;
    }
    if (req.op != nullptr && ctx.can_offload() && runs_on_pool(req.header.opcode)) {
        st.reader = r;
        st.writer = w;
        ctx.offload(slot);
        return;
    }
    bool async = false;
    uint32_t len;
    // The request path's one exception boundary: nothing below throws but bad_alloc.
    try {
        len = dispatch(&ctx, slot, st, r, w, &async);
    } catch (const std::bad_alloc&) {
        if (async) return;  // the operation is queued: its completion answers
        len = out_of_memory_reply(slot, req);
    }
    if (!async) ctx.complete(slot, len);
}

uint32_t FuseServer::run_offloaded(RequestSlot& slot, RequestState& st) {
    if (st.req.header.opcode == FUSE_WRITE) {
        const int32_t n = IoEngine::write_now(st.file, st.iov, st.iov_count, st.offset);
        st.file = DataFile();  // the grant ends with the write
        return finish_io(st, kCookieWrite, n);
    }
    bool async = false;
    return dispatch(nullptr, slot, st, st.reader, st.writer, &async);
}

uint32_t FuseServer::dispatch(QueueContext* ctx, RequestSlot& slot, RequestState& st, SgReader& r,
                              SgWriter& w, bool* async) {
    if (!dax_ || st.req.op == nullptr) return dispatch_op(ctx, slot, st, r, w, async);
    const fuse_in_header h = st.req.header;
    dax_before(h);
    const uint32_t len = dispatch_op(ctx, slot, st, r, w, async);
    // WRITE and FALLOCATE: finish_io, which answers them, covers.
    if (!*async && h.opcode != FUSE_WRITE && h.opcode != FUSE_FALLOCATE) dax_after(h);
    return len;
}

uint32_t FuseServer::dispatch_op(QueueContext* ctx, RequestSlot& slot, RequestState& st,
                                 SgReader& r, SgWriter& w, bool* async) {
    const ParsedRequest& req = st.req;
    const fuse_in_header& h = req.header;
    const uint64_t unique = h.unique;
    if (req.op == nullptr) return error_reply(w, unique, ENOSYS);
    if (h.opcode == FUSE_INIT) {
        if (session_.initialized()) {
            // On virtio-fs a second INIT means the guest rebooted without unmounting (a
            // crash, reset or kexec): nothing of the old session is valid any more. Start
            // over, as QEMU's virtiofsd does, instead of leaving the share unmountable.
            ctx->wait_offloaded();
            fs_.reset();
            session_.end();
        }
        return do_init(st, w);
    }
    if (!session_.initialized()) {
        return req.wants_reply() ? error_reply(w, unique, EIO) : 0;
    }
    const uint32_t minor = session_.proto().minor;
    RequestContext rc{h.uid, h.gid, h.pid};
    SecurityLabel label;
    if (Status s = take_security_label(req, r, &label, &rc); !s)
        return error_reply(w, unique, s.error());

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
            return start_read(*ctx, slot, st, w, async);
        case FUSE_WRITE:
            return start_write(*ctx, slot, st, r, w, async);
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
            return start_fsync(*ctx, slot, st, w, async);
        case FUSE_SETXATTR: {
            const auto in = req.arg<fuse_setxattr_in>();
            if (in.size > XATTR_SIZE_MAX) return error_reply(w, unique, E2BIG);
            // The value is small (XATTR_SIZE_MAX) and must be contiguous for the syscall.
            static thread_local std::vector<uint8_t> value;
            value.resize(in.size);
            if (Status s = r.read(value.data(), in.size); !s) return error_reply(w, unique, EINVAL);
            // setxattr_flags exists only in the extended header (FUSE_SETXATTR_EXT).
            const uint32_t ext_flags = session_.proto().setxattr_ext ? in.setxattr_flags : 0;
            return status_reply(fs_.setxattr(h.nodeid, name_of(req, 0), value.data(), in.size,
                                             in.flags, ext_flags));
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
            return start_fsync(*ctx, slot, st, w, async);
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
            ctx->wait_offloaded();
            if (dax_) dax_->drop_all("FUSE session ended");
            fs_.reset();
            session_.end();
            return status_reply(Status{});
        case FUSE_FALLOCATE:
            return start_fallocate(*ctx, slot, st, w, async);
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
        case FUSE_SETUPMAPPING:
            return do_setupmapping(st, w);
        case FUSE_REMOVEMAPPING:
            return do_removemapping(st, r, w);
        default:
            // ACCESS (the guest mounts with default_permissions), BMAP, IOCTL, POLL.
            return error_reply(w, unique, ENOSYS);
    }
}

uint32_t FuseServer::do_init(RequestState& st, SgWriter& w) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_init_in>();
    auto n = negotiate_init(in, st.req.arg_len, opts_);
    if (!n) return error_reply(w, unique, n.error());
    dax_on_init(in, *n);
    if (!session_.begin(*n)) return error_reply(w, unique, EPROTO);
    const Status s = vfs::wire::reply_init(w, unique, n->out);
    if (!s) session_.end();
    return sent(w, unique, s);
}

uint32_t FuseServer::do_batch_forget(RequestState& st, SgReader& r) {
    // The parser checked count * sizeof(fuse_forget_one) == the payload it left us.
    const uint32_t count = st.req.arg<fuse_batch_forget_in>().count;
    for (uint32_t i = 0; i < count; ++i) {
        fuse_forget_one one{};
        if (!r.read_obj(&one)) break;
        fs_.forget(one.nodeid, one.nlookup);
    }
    return 0;
}

uint32_t FuseServer::do_readdir(RequestState& st, SgWriter& w, bool plus) {
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

uint32_t FuseServer::do_getxattr(RequestState& st, SgWriter& w, bool list) {
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

uint32_t FuseServer::started(IoOutcome o, RequestState& st, uint32_t cookie, bool* async) {
    if (!o.is_queued()) return finish_io(st, cookie, o.result());
    *async = true;
    return 0;
}

uint32_t FuseServer::start_read(QueueContext& ctx, RequestSlot& slot, RequestState& st, SgWriter& w,
                                bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_read_in>();
    if (!fits_off_t(in.offset)) return error_reply(w, unique, EINVAL);
    auto file = fs_.data_file(in.fh, DataAccess::kRead);
    if (!file) return error_reply(w, unique, file.error());
    auto p = vfs::wire::reply_begin(w, unique);
    if (!p) return 0;
    st.pending = *p;
    const uint64_t size = std::min<uint64_t>({in.size, w.remaining(), kMaxWrite});
    auto n = take_iovecs(w, size, ctx.io().iovecs(slot));
    if (!n) return finish_io(st, kCookieRead, -EINVAL);
    st.writer = w;
    return started(
        ctx.io().read(slot, kCookieRead, std::move(*file), in.offset, *n, !ctx.others_waiting()),
        st, kCookieRead, async);
}

uint32_t FuseServer::start_write(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                                 SgReader& r, SgWriter& w, bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_write_in>();
    if (!fits_off_t(in.offset) || in.size > kMaxWrite) return error_reply(w, unique, EINVAL);
    auto file = fs_.data_file(in.fh, DataAccess::kWrite);
    if (!file) return error_reply(w, unique, file.error());
    // The kernel flags a direct-I/O write (cache=never, or O_DIRECT) by a caller without
    // CAP_FSETID whether or not KILLPRIV_V2 was negotiated (fs/fuse/file.c, fuse_direct_io;
    // through the page cache it sends a SETATTR of the mode instead), and we write as root,
    // whose CAP_FSETID would keep the bits: honour the flag always, as QEMU's virtiofsd does.
    // Before the write, as the kernel's file_remove_privs: if the bits cannot be cleared
    // (NFS with root_squash), the write is refused rather than done under them.
    if (in.write_flags & FUSE_WRITE_KILL_SUIDGID) {
        if (Status s = fs_.kill_suid_sgid(in.fh); !s) return error_reply(w, unique, s.error());
    }
    auto n = take_iovecs(r, in.size, ctx.io().iovecs(slot));
    if (!n) return error_reply(w, unique, EINVAL);
    st.writer = w;
    if (ctx.can_offload() && !file->direct() &&
        (in.size <= IoEngine::kInlineWriteMax || !ctx.others_waiting())) {
        // The engine would write this inline (small, or large with nothing else waiting),
        // and io_uring would punt it to a kernel worker: it blocks. With a pool, a pool
        // thread waits for it, not the queue's thread (and the hiprio queue sharing it).
        st.file = std::move(*file);
        st.iov = ctx.io().iovecs(slot);
        st.iov_count = *n;
        st.offset = in.offset;
        ctx.offload(slot);
        *async = true;
        return 0;
    }
    return started(
        ctx.io().write(slot, kCookieWrite, std::move(*file), in.offset, *n, !ctx.others_waiting()),
        st, kCookieWrite, async);
}

// FSYNC and FSYNCDIR alike: both on the ring, neither blocks the worker.
uint32_t FuseServer::start_fsync(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                                 SgWriter& w, bool* async) {
    const auto in = st.req.arg<fuse_fsync_in>();
    auto file = fs_.data_file(in.fh, DataAccess::kSync);
    if (!file) return error_reply(w, st.req.header.unique, file.error());
    st.writer = w;
    const bool datasync = in.fsync_flags & FUSE_FSYNC_FDATASYNC;
    return started(ctx.io().fsync(slot, kCookieFsync, std::move(*file), datasync), st, kCookieFsync,
                   async);
}

uint32_t FuseServer::start_fallocate(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                                     SgWriter& w, bool* async) {
    const uint64_t unique = st.req.header.unique;
    const auto in = st.req.arg<fuse_fallocate_in>();
    if (!fits_off_t(in.offset) || !fits_off_t(in.length)) return error_reply(w, unique, EINVAL);
    auto file = fs_.data_file(in.fh, DataAccess::kAllocate);
    if (!file) return error_reply(w, unique, file.error());
    st.writer = w;
    return started(
        ctx.io().fallocate(slot, kCookieFallocate, std::move(*file), in.mode, in.offset, in.length),
        st, kCookieFallocate, async);
}

uint32_t FuseServer::finish_io(RequestState& st, uint32_t cookie, int32_t result) {
    const uint64_t unique = st.req.header.unique;
    if (dax_ && (cookie == kCookieWrite || cookie == kCookieFallocate)) dax_after(st.req.header);
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
