#include "frontend.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <utility>

namespace vfs::frontend {

using vu::Request;
namespace feature = vu::feature;
namespace pf = vu::protocol_feature;

namespace {

// The protocol features QEMU 7.2 asks for from a vhost-user-fs backend (CONFIG aside).
constexpr uint64_t kWantedProtocolFeatures = pf::kMq | pf::kReplyAck | pf::kBackendReq |
                                             pf::kBackendSendFd | pf::kConfigureMemSlots |
                                             pf::kResetDevice | pf::kStatus;

}  // namespace

Result<std::unique_ptr<Frontend>> Frontend::connect(const std::string& socket_path,
                                                    FrontendOptions opts) {
    if (opts.num_queues == 0 || opts.num_queues > 256 || opts.memory_bytes >= kShmemGpa)
        return Error{EINVAL};
    std::unique_ptr<Frontend> f(new Frontend());
    f->opts_ = opts;
    auto c = VhostUserClient::connect(socket_path);
    if (!c) return Error{c.error()};
    f->client_ = std::move(*c);
    auto ram = GuestRam::create(opts.memory_bytes, opts.memory_regions);
    if (!ram) return Error{ram.error()};
    f->ram_ = std::move(*ram);
    for (uint32_t i = 0; opts.own_queues && i < opts.num_queues; ++i) {
        auto q = FrontendQueue::create(*f->ram_, i, opts.queue_size);
        if (!q) return Error{q.error()};
        f->queues_.push_back(std::move(*q));
    }
    f->bases_.assign(opts.num_queues, 0);
    // The window exists only after the handshake; the listener serves maps in it then.
    auto bc = BackendChannel::create(
        [raw = f.get()](const vu::Message& m) -> uint64_t {
            return raw->window_ ? raw->window_->serve(m) : 1;
        },
        [raw = f.get()](const vu::Message& m, uint64_t result) { raw->report_shmem(m, result); });
    if (!bc) return Error{bc.error()};
    f->backend_ = std::move(*bc);
    return f;
}

Frontend::~Frontend() {
    // Shut the socket first so the backend stops before guest memory goes away, and a
    // report the backend channel's listener is sending fails instead of waiting; the
    // listener (which uses the window and the socket) ends before either is freed.
    if (client_) ::shutdown(client_->connection().fd(), SHUT_RDWR);
    backend_.reset();
    if (client_) client_->connection().close();
}

Status Frontend::handshake() {
    auto features = client_->get_u64(Request::kGetFeatures);
    if (!features) return Error{features.error()};
    neg_.offered_features = *features;
    if (*features & feature::kProtocolFeatures) {
        auto pfs = client_->get_u64(Request::kGetProtocolFeatures);
        if (!pfs) return Error{pfs.error()};
        neg_.offered_protocol_features = *pfs;
        uint64_t want = kWantedProtocolFeatures | (opts_.ack_config ? pf::kConfig : 0) |
                        (opts_.shmem ? pf::kShmem : 0) | (opts_.log_shmfd ? pf::kLogShmfd : 0);
        if (!opts_.mem_slots) want &= ~pf::kConfigureMemSlots;
        neg_.protocol_features = *pfs & want;
        if (Status s = client_->send_obj(Request::kSetProtocolFeatures, neg_.protocol_features); !s)
            return s;
        client_->set_reply_ack(neg_.protocol_features & pf::kReplyAck);
        if (neg_.protocol_features & pf::kMq) {
            auto n = client_->get_u64(Request::kGetQueueNum);
            if (!n) return Error{n.error()};
            neg_.queue_num = *n;
            if (*n < opts_.num_queues) return Error{EINVAL};
        }
        if (neg_.protocol_features & pf::kConfigureMemSlots) {
            auto n = client_->get_u64(Request::kGetMaxMemSlots);
            if (!n) return Error{n.error()};
            neg_.max_mem_slots = *n;
        }
        if (neg_.protocol_features & pf::kShmem) {
            vu::ShmemConfig cfg;
            if (Status s = client_->call(Request::kGetShmemConfig, nullptr, 0, &cfg, sizeof(cfg));
                !s)
                return s;
            if (cfg.nregions > vu::kMaxShmemRegions) return Error{EPROTO};
            neg_.shmem_size = cfg.nregions > 0 ? cfg.memory_sizes[0] : 0;
            if (neg_.shmem_size != 0) {
                auto w = DaxWindow::create(neg_.shmem_size, opts_.qemu_shmem_rules);
                if (!w) return Error{w.error()};
                window_ = std::move(*w);
            }
        }
    }
    if (Status s = client_->send(Request::kSetOwner); !s) return s;
    if (neg_.protocol_features & pf::kBackendReq) {
        const int fd = backend_->backend_end();
        if (Status s = client_->send(Request::kSetBackendReqFd, nullptr, 0, &fd, 1); !s) return s;
        backend_->close_backend_end();
    }
    uint64_t want = feature::kVersion1 | feature::kRingIndirectDesc | feature::kProtocolFeatures |
                    (opts_.event_idx ? feature::kRingEventIdx : 0);
    neg_.features = neg_.offered_features & want;
    if (!(neg_.features & feature::kVersion1)) return Error{ENOTSUP};
    return client_->send_obj(Request::kSetFeatures, neg_.features);
}

Status Frontend::set_mem_table() {
    std::lock_guard lock(shmem_mu_);
    return send_mem_table_locked();
}

Result<AttachedRings> Frontend::attach_queue(uint32_t q, const RingPlacement& where, uint16_t base,
                                             const QueueNotifiers& fds) {
    if (q >= opts_.num_queues || !vfs::wire::valid_queue_size(where.size)) return Error{EINVAL};
    AttachedRings r;
    r.desc = reinterpret_cast<vring_desc*>(
        ram_->at(where.desc, vfs::wire::desc_table_bytes(where.size)));
    r.avail = reinterpret_cast<vring_avail*>(
        ram_->at(where.avail, vfs::wire::avail_ring_bytes(where.size)));
    r.used =
        reinterpret_cast<vring_used*>(ram_->at(where.used, vfs::wire::used_ring_bytes(where.size)));
    if (!r.desc || !r.avail || !r.used) return Error{EFAULT};
    if (Status s = client_->send_obj(Request::kSetVringNum, vu::VringState{q, where.size}); !s)
        return Error{s.error()};
    if (Status s = client_->send_obj(Request::kSetVringBase, vu::VringState{q, base}); !s)
        return Error{s.error()};
    vu::VringAddr a;
    a.index = q;
    a.desc_user_addr = reinterpret_cast<uint64_t>(r.desc);
    a.used_user_addr = reinterpret_cast<uint64_t>(r.used);
    a.avail_user_addr = reinterpret_cast<uint64_t>(r.avail);
    if (Status s = client_->send_obj(Request::kSetVringAddr, a); !s) return Error{s.error()};
    const uint64_t idx = q;
    const std::pair<Request, int> fd_messages[] = {{Request::kSetVringKick, fds.kick()},
                                                   {Request::kSetVringCall, fds.call()},
                                                   {Request::kSetVringErr, fds.err()}};
    for (auto [req, fd] : fd_messages) {
        if (Status s = client_->send_obj(req, idx, &fd, 1); !s) return Error{s.error()};
    }
    if (neg_.features & feature::kProtocolFeatures) {
        if (Status s = client_->send_obj(Request::kSetVringEnable, vu::VringState{q, 1}); !s)
            return Error{s.error()};
    }
    return r;
}

Status Frontend::start_queue(uint32_t q) {
    if (q >= queues_.size()) return Error{EINVAL};
    FrontendQueue& fq = *queues_[q];
    auto r = attach_queue(q, fq.placement(), bases_[q], fq.notifiers());
    if (!r) return Error{r.error()};
    return {};
}

Result<uint16_t> Frontend::stop_queue(uint32_t q) {
    if (q >= queues_.size()) return Error{EINVAL};
    if (neg_.features & feature::kProtocolFeatures) {
        if (Status s = client_->send_obj(Request::kSetVringEnable, vu::VringState{q, 0}); !s)
            return Error{s.error()};
    }
    auto st = client_->get_vring_base(q);
    if (!st) return Error{st.error()};
    if (st->num > 0xffff) return Error{EPROTO};
    bases_[q] = static_cast<uint16_t>(st->num);
    return bases_[q];
}

Status Frontend::reset_queue(uint32_t q) {
    if (q >= queues_.size()) return Error{EINVAL};
    bases_[q] = 0;
    return queues_[q]->reset_rings(neg_.features & feature::kRingEventIdx);
}

Status Frontend::setup() {
    if (Status s = handshake(); !s) return s;
    if (Status s = set_mem_table(); !s) return s;
    for (uint32_t q = 0; q < queues_.size(); ++q) {
        if (Status s = reset_queue(q); !s) return s;
        if (Status s = start_queue(q); !s) return s;
    }
    return {};
}

Status Frontend::set_status(uint8_t status) {
    if (!(neg_.protocol_features & pf::kStatus)) return Error{EOPNOTSUPP};
    return client_->send_obj(Request::kSetStatus, uint64_t{status});
}

Result<Frontend::Ticket> Frontend::submit(uint32_t q, std::span<const uint8_t> request,
                                          uint32_t reply_capacity) {
    if (q >= queues_.size() || request.empty()) return Error{EINVAL};
    auto out = ram_->allocate(request.size());
    if (!out) return Error{out.error()};
    GuestBuffer in{};
    if (reply_capacity > 0) {
        auto r = ram_->allocate(reply_capacity);
        if (!r) {
            ram_->release(*out);
            return Error{r.error()};
        }
        in = *r;
    }
    memcpy(out->ptr, request.data(), request.size());
    const uint64_t token = token_.fetch_add(1);
    {
        std::lock_guard<std::mutex> lock(inflight_mu_);
        inflight_[token] = InFlight{*out, in};
    }
    vfs::wire::DriverBuffer ob{out->gpa, static_cast<uint32_t>(request.size())};
    vfs::wire::DriverBuffer ib{in.gpa, reply_capacity};
    Status s = queues_[q]->submit(&ob, 1, &ib, reply_capacity ? 1 : 0, token);
    if (!s) {
        std::lock_guard<std::mutex> lock(inflight_mu_);
        inflight_.erase(token);
        ram_->release(*out);
        ram_->release(in);
        return Error{s.error()};
    }
    return Ticket{q, token};
}

Result<GuestBuffer> Frontend::reply_buffer(const Ticket& t) {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    auto it = inflight_.find(t.token);
    if (it == inflight_.end()) return Error{EINVAL};
    return it->second.in;
}

Result<std::vector<uint8_t>> Frontend::wait(const Ticket& t) {
    if (t.queue >= queues_.size()) return Error{EINVAL};
    auto len = queues_[t.queue]->wait(t.token, opts_.timeout_ms);
    // On a timeout the buffers stay allocated: the backend may still write into them.
    if (!len) return Error{len.error()};
    InFlight f;
    {
        std::lock_guard<std::mutex> lock(inflight_mu_);
        auto it = inflight_.find(t.token);
        if (it == inflight_.end()) return Error{EINVAL};
        f = it->second;
        inflight_.erase(it);
    }
    std::vector<uint8_t> reply(f.in.ptr, f.in.ptr + *len);
    ram_->release(f.out);
    ram_->release(f.in);
    return reply;
}

Result<std::vector<uint8_t>> Frontend::request(uint32_t q, std::span<const uint8_t> req,
                                               uint32_t reply_capacity) {
    auto t = submit(q, req, reply_capacity);
    if (!t) return Error{t.error()};
    return wait(*t);
}

Result<fuse_init_out> Frontend::fuse_init(uint32_t q, uint64_t offered) {
    struct {
        fuse_in_header h;
        fuse_init_in in;
    } __attribute__((packed)) req{};
    req.h.len = sizeof(req);
    req.h.opcode = FUSE_INIT;
    req.h.unique = next_unique();
    req.in.major = FUSE_KERNEL_VERSION;
    req.in.minor = FUSE_KERNEL_MINOR_VERSION;
    req.in.max_readahead = 128 * 1024;
    if (offered >> 32) offered |= FUSE_INIT_EXT;
    req.in.flags = static_cast<uint32_t>(offered);
    req.in.flags2 = static_cast<uint32_t>(offered >> 32);
    auto reply = request(q, std::span(reinterpret_cast<const uint8_t*>(&req), sizeof(req)),
                         sizeof(fuse_out_header) + sizeof(fuse_init_out));
    if (!reply) return Error{reply.error()};
    if (reply->size() < sizeof(fuse_out_header)) return Error{EPROTO};
    fuse_out_header oh;
    memcpy(&oh, reply->data(), sizeof(oh));
    if (oh.unique != req.h.unique || oh.len != reply->size()) return Error{EPROTO};
    if (oh.error != 0) return Error{-oh.error};
    fuse_init_out out{};
    const size_t body = reply->size() - sizeof(oh);
    if (body < 24) return Error{EPROTO};  // FUSE_COMPAT_22_INIT_OUT_SIZE
    memcpy(&out, reply->data() + sizeof(oh), body < sizeof(out) ? body : sizeof(out));
    return out;
}

}  // namespace vfs::frontend
