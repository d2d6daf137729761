#include "fuse_pipeline.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "monotonic_clock.h"

namespace vfs::bench {

using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
using vfs::frontend::GuestBuffer;
using vfs::wire::DriverBuffer;
using vfs::wire::DriverCompletion;
using vfs::wire::Segment;

namespace {

// The INIT flags Linux 6.1's virtio-fs client asks for, minus the ones a benchmark
// must not turn on (POSIX ACLs, writeback cache: neither is on by default in a daemon).
constexpr uint32_t kLinuxInitFlags = FUSE_ASYNC_READ | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |
                                     FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_AUTO_INVAL_DATA |
                                     FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |
                                     FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_SUBMOUNTS;

constexpr uint32_t kRequestBufBytes = 2 * vfs::frontend::GuestRam::kPage;
static_assert(vfs::wire::kRequestBufMax <= kRequestBufBytes);

bool is_forget(uint32_t opcode) {
    return opcode == FUSE_FORGET || opcode == FUSE_BATCH_FORGET;
}

}  // namespace

bool FuseCall::set_name(std::string_view n) {
    if (n.size() >= sizeof(name)) return false;
    name_len = static_cast<uint32_t>(n.size());
    memcpy(name, n.data(), name_len);
    return true;
}

Result<std::unique_ptr<FusePipeline>> FusePipeline::connect(const std::string& socket,
                                                            const PipelineOptions& opts) {
    std::unique_ptr<FusePipeline> p(new FusePipeline());
    p->opts_ = opts;
    const uint64_t page = vfs::frontend::GuestRam::kPage;
    const uint64_t per_slot = kRequestBufBytes + page + opts.max_reply_data;
    const uint64_t rings = uint64_t{1 + opts.request_queues} * 16 * opts.queue_size + page;
    uint64_t bytes = opts.max_depth * per_slot + opts.scratch_bytes + rings + (4ull << 20);
    bytes = (bytes + (1ull << 20) - 1) & ~((1ull << 20) - 1);

    FrontendOptions fo;
    fo.num_queues = 1 + opts.request_queues;
    fo.queue_size = opts.queue_size;
    fo.memory_bytes = bytes;
    fo.timeout_ms = opts.timeout_ms;
    auto fe = Frontend::connect(socket, fo);
    if (!fe) return Error{fe.error()};
    p->fe_ = std::move(*fe);
    if (Status s = p->fe_->setup(); !s) return Error{s.error()};

    auto& ram = p->fe_->ram();
    p->slots_.resize(opts.max_depth);
    for (Slot& s : p->slots_) {
        auto req = ram.allocate(kRequestBufBytes);
        auto head = ram.allocate(page);
        auto data = ram.allocate(opts.max_reply_data);
        if (!req || !head || !data) return Error{ENOMEM};
        s.req = *req;
        s.head = *head;
        s.data = *data;
    }
    auto scratch = ram.allocate(opts.scratch_bytes);
    if (!scratch) return Error{scratch.error()};
    p->scratch_ = *scratch;
    for (uint32_t q = 0; q < p->fe_->num_queues(); ++q) {
        p->call_fds_.push_back(pollfd{p->fe_->queue(q).call_fd(), POLLIN, 0});
        if (opts.client_poll) p->fe_->queue(q).disable_interrupts();
    }
    return p;
}

Status FusePipeline::init() {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = 128 * 1024;
    in.flags = kLinuxInitFlags;
    vfs::wire::ClientRequest rq;
    rq.opcode = FUSE_INIT;
    rq.unique = fe_->next_unique();
    rq.arg = &in;
    uint8_t buf[vfs::wire::kRequestBufMax];
    Segment seg[1];
    const vfs::wire::Proto cur = vfs::wire::Proto::current();
    auto n = vfs::wire::build_request(rq, cur, buf, sizeof(buf), seg, 1);
    if (!n) return Error{n.error()};
    auto reply = fe_->request(1, std::span<const uint8_t>(seg[0].data, seg[0].len),
                              sizeof(fuse_out_header) + sizeof(fuse_init_out));
    if (!reply) return Error{reply.error()};
    fuse_init_out out{};
    auto rep = vfs::wire::decode_reply(rq, cur, reply->data(), 0, reply->size(), &out, sizeof(out));
    if (!rep) return Error{rep.error()};
    if (rep->error != 0) return Error{rep->error};
    if (out.major != FUSE_KERNEL_VERSION) return Error{EPROTO};
    proto_.minor = out.minor < cur.minor ? out.minor : cur.minor;
    proto_.setxattr_ext = false;
    max_write_ = out.max_write;
    return {};
}

Status FusePipeline::submit(uint32_t i) {
    Slot& s = slots_[i];
    const FuseCall& c = s.call;
    s.rq = vfs::wire::ClientRequest{};
    s.rq.opcode = c.opcode;
    s.rq.unique = fe_->next_unique();
    s.rq.nodeid = c.nodeid;
    s.rq.uid = ::getuid();
    s.rq.gid = ::getgid();
    s.rq.pid = static_cast<uint32_t>(::getpid());
    s.rq.arg = &c.arg;
    s.rq.names[0] = vfs::wire::NameView{c.name, c.name_len};
    Segment payload{const_cast<uint8_t*>(c.write_data),
                    c.opcode == FUSE_WRITE ? c.arg.write.size : 0};
    if (payload.len > 0) {
        s.rq.data = &payload;
        s.rq.data_count = 1;
    }
    Segment out_segs[2];
    auto n_out = vfs::wire::build_request(s.rq, proto_, s.req.ptr, static_cast<uint32_t>(s.req.len),
                                          out_segs, 2);
    if (!n_out) return Error{n_out.error()};
    Segment reply_data{s.data.ptr, c.reply_data};
    Segment in_segs[2];
    auto n_in =
        vfs::wire::build_reply_segments(s.rq, proto_, s.head.ptr, static_cast<uint32_t>(s.head.len),
                                        &reply_data, c.reply_data > 0 ? 1 : 0, in_segs, 2);
    if (!n_in) return Error{n_in.error()};
    DriverBuffer out[2], in[2];
    for (uint32_t k = 0; k < *n_out; ++k)
        out[k] = DriverBuffer{gpa_of(out_segs[k].data), out_segs[k].len};
    for (uint32_t k = 0; k < *n_in; ++k)
        in[k] = DriverBuffer{gpa_of(in_segs[k].data), in_segs[k].len};
    s.queue = is_forget(c.opcode) ? 0 : 1 + i % opts_.request_queues;
    return fe_->queue(s.queue).submit(out, *n_out, in, *n_in, uint64_t{i} + 1);
}

Result<FuseReply> FusePipeline::decode(Slot& s, uint32_t used_len) {
    FuseReply r;
    if (is_forget(s.call.opcode)) {
        if (used_len != 0) return Error{EPROTO};
        return r;
    }
    auto rep = vfs::wire::decode_reply(s.rq, proto_, s.head.ptr, s.call.reply_data, used_len,
                                       s.body, sizeof(s.body));
    if (!rep) return Error{rep.error()};
    r.error = rep->error;
    r.body = s.body;
    r.data = s.data.ptr;
    r.data_len = rep->data_len;
    return r;
}

Status FusePipeline::reap(std::vector<DriverCompletion>* done) {
    done->clear();
    const uint32_t nq = fe_->num_queues();
    DriverCompletion buf[64];
    uint64_t looks = 0;
    uint64_t spin_deadline = 0;
    for (;;) {
        for (uint32_t q = 0; q < nq; ++q) {
            for (;;) {
                auto n = fe_->queue(q).take_used(buf, 64);
                if (!n) return Error{n.error()};
                done->insert(done->end(), buf, buf + *n);
                if (*n < 64) break;
            }
        }
        if (!done->empty()) return {};
        if (opts_.client_poll) {
            // Look again after a pause; the clock every 256 looks, bounded like the sleep.
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            if (++looks % 256 == 0) {
                if (looks == 256) spin_deadline = now_ns() + uint64_t(opts_.timeout_ms) * 1000000;
                if (now_ns() >= spin_deadline) return Error{ETIMEDOUT};
            }
            continue;
        }
        // Sleep on every call eventfd; clear the ones that fired before looking again, so
        // a signal that comes after the look wakes the next poll.
        pollfd* pfd = call_fds_.data();
        for (uint32_t q = 0; q < nq; ++q)
            pfd[q].revents = 0;
        const int r = ::poll(pfd, nq, opts_.timeout_ms);
        if (r == 0) return Error{ETIMEDOUT};
        if (r < 0 && errno != EINTR) return Error{errno};
        for (uint32_t q = 0; q < nq; ++q) {
            if (pfd[q].revents & POLLIN) {
                uint64_t v;
                [[maybe_unused]] ssize_t n = ::read(pfd[q].fd, &v, sizeof(v));
            }
        }
    }
}

Result<SyncReply> FusePipeline::call(const FuseCall& c) {
    slots_[0].call = c;
    if (Status s = submit(0); !s) return Error{s.error()};
    std::vector<DriverCompletion> done;
    for (;;) {
        if (Status s = reap(&done); !s) return Error{s.error()};
        for (const DriverCompletion& d : done) {
            if (d.token != 1) return Error{EPROTO};  // nothing else is in flight
            auto rep = decode(slots_[0], d.len);
            if (!rep) return Error{rep.error()};
            SyncReply out;
            out.error = rep->error;
            memcpy(out.body, slots_[0].body, sizeof(out.body));
            if (rep->data) out.data.assign(rep->data, rep->data + rep->data_len);
            return out;
        }
    }
}

RunResult FusePipeline::run(FuseWorkload& w, uint32_t depth, double seconds, uint64_t max_ops) {
    RunResult res;
    if (depth == 0 || depth > slots_.size()) {
        res.error = "queue depth beyond the pipeline's slots";
        return res;
    }
    res.latencies_ns.reserve(1 << 20);
    const uint64_t start = now_ns();
    const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
    uint64_t last = start;
    uint32_t active = 0;
    bool stopping = false;
    uint64_t started = 0;
    auto may_start = [&] { return !stopping && (max_ops == 0 || started < max_ops); };
    auto begin_op = [&](uint32_t i) {
        ++started;
        slots_[i].call = FuseCall{};
        w.begin(i, &slots_[i].call);
        slots_[i].op_start_ns = now_ns();
        if (Status s = submit(i); !s) {
            res.error = std::string("submit failed: ") + strerror(s.error());
            stopping = true;
            return;
        }
        ++active;
    };
    for (uint32_t i = 0; i < depth && may_start(); ++i)
        begin_op(i);

    std::vector<DriverCompletion> done;
    done.reserve(256);
    FuseCall next;
    while (active > 0) {
        if (Status s = reap(&done); !s) {
            res.error = std::string("waiting for completions: ") + strerror(s.error());
            break;
        }
        const uint64_t now = now_ns();
        for (const DriverCompletion& d : done) {
            if (d.token == 0 || d.token > depth) {
                res.error = "completion for a slot never used";
                return res;
            }
            const uint32_t i = static_cast<uint32_t>(d.token - 1);
            Slot& s = slots_[i];
            --active;
            auto rep = decode(s, d.len);
            if (!rep) {
                w.verification().fail("malformed reply to opcode " + std::to_string(s.call.opcode));
                stopping = true;
                continue;
            }
            next = FuseCall{};
            const auto step = w.on_reply(i, s.call, *rep, &next);
            if (step == FuseWorkload::Step::kFailed) {
                stopping = true;
                continue;
            }
            if (step == FuseWorkload::Step::kNext) {
                s.call = next;
                if (Status st = submit(i); !st) {
                    res.error = std::string("submit failed: ") + strerror(st.error());
                    stopping = true;
                    continue;
                }
                ++active;
                continue;
            }
            ++res.ops;
            res.latencies_ns.push_back(now - s.op_start_ns);
            last = now;
            if (may_start() && now < deadline) begin_op(i);
        }
    }
    res.seconds = static_cast<double>(last - start) / 1e9;
    return res;
}

}  // namespace vfs::bench
