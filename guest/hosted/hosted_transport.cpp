// The hosted Transport over tools/frontend (see hosted_transport.h).
#include "hosted_transport.h"

#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

namespace vfs::guest::hosted {

namespace vu = vfs::host::vhost_user;

namespace {
constexpr uint64_t kVersion1Bit = 1ull << 32;
constexpr uint64_t kEventIdxBit = 1ull << 29;
}  // namespace

wire::Result<std::unique_ptr<HostedTransport>> HostedTransport::connect(const HostedOptions& o) {
    if (o.request_queues == 0 || o.request_queues > 64 || o.tag.empty() || o.tag.size() > 36)
        return wire::Error{EINVAL};
    frontend::FrontendOptions fo;
    fo.num_queues = o.request_queues + 1;
    fo.queue_size = 8;  // the frontend's own rings go unused: the driver brings its own
    fo.memory_bytes = o.memory_bytes;
    // Shadow used rings cannot carry the device's avail_event: no EVENT_IDX then.
    fo.event_idx = !o.interpose;
    auto fe = frontend::Frontend::connect(o.socket, fo);
    if (!fe) return wire::Error{fe.error()};
    std::unique_ptr<HostedTransport> t(new HostedTransport());
    t->opts_ = o;
    t->fe_ = std::move(*fe);
    t->dma_ = std::make_unique<GuestRamDma>(t->fe_->ram());
    t->shadows_.resize(fo.num_queues);
    return t;
}

HostedTransport::~HostedTransport() {
    stop_ = true;
    if (pump_.joinable()) pump_.join();
    fe_.reset();  // closes the socket before the guest memory goes
}

wire::Result<uint64_t> HostedTransport::negotiate_features(uint64_t wanted) {
    if (wire::Status s = fe_->handshake(); !s) return wire::Error{s.error()};
    if (wire::Status s = fe_->set_mem_table(); !s) return wire::Error{s.error()};
    const uint64_t have = fe_->negotiated().features;
    if (!(have & vu::feature::kVersion1)) return wire::Error{ENOTSUP};
    uint64_t accepted = kVersion1Bit;
    if ((have & vu::feature::kRingEventIdx) && (wanted & kEventIdxBit)) accepted |= kEventIdxBit;
    return accepted;
}

wire::Status HostedTransport::read_device_config(uint32_t offset, void* out, uint32_t len) {
    virtio_fs_config cfg{};
    memcpy(cfg.tag, opts_.tag.data(), opts_.tag.size());  // no NUL at 36 bytes, as QEMU
    cfg.num_request_queues = opts_.request_queues;
    if (offset > sizeof(cfg) || len > sizeof(cfg) - offset) return wire::Error{EINVAL};
    memcpy(out, reinterpret_cast<const uint8_t*>(&cfg) + offset, len);
    return {};
}

uint16_t HostedTransport::num_queues() {
    return static_cast<uint16_t>(opts_.request_queues + 1);
}

wire::Result<uint16_t> HostedTransport::queue_size(uint16_t index, uint16_t requested) {
    if (index >= num_queues()) return wire::Error{ENOENT};
    uint32_t n = requested < opts_.queue_size ? requested : opts_.queue_size;
    uint32_t p = 1;
    while (p * 2 <= n)
        p *= 2;
    return static_cast<uint16_t>(p);
}

wire::Status HostedTransport::enable_queue(uint16_t index, uint16_t size,
                                           const virtio::QueueAddresses& addrs) {
    if (index >= num_queues()) return wire::Error{ENOENT};
    frontend::GuestRam& ram = fe_->ram();
    auto* desc = ram.at(addrs.desc, wire::desc_table_bytes(size));
    auto* avail = ram.at(addrs.driver, wire::avail_ring_bytes(size));
    auto* used = ram.at(addrs.device, wire::used_ring_bytes(size));
    if (!desc || !avail || !used) return wire::Error{EFAULT};
    uint8_t* device_used = used;
    Shadow& sh = shadows_[index];
    if (opts_.interpose) {
        auto b = ram.allocate(wire::used_ring_bytes(size));
        if (!b) return wire::Error{b.error()};
        sh.on = true;
        sh.size = size;
        sh.desc = reinterpret_cast<vring_desc*>(desc);
        sh.real = reinterpret_cast<vring_used*>(used);
        sh.shadow = reinterpret_cast<vring_used*>(b->ptr);
        device_used = b->ptr;
    }
    frontend::VhostUserClient& c = fe_->client();
    const uint32_t q = index;
    if (auto s = c.send_obj(vu::Request::kSetVringNum, vu::VringState{q, size}); !s) return s;
    if (auto s = c.send_obj(vu::Request::kSetVringBase, vu::VringState{q, 0}); !s) return s;
    vu::VringAddr a;
    a.index = q;
    a.desc_user_addr = reinterpret_cast<uint64_t>(desc);
    a.avail_user_addr = reinterpret_cast<uint64_t>(avail);
    a.used_user_addr = reinterpret_cast<uint64_t>(device_used);
    if (auto s = c.send_obj(vu::Request::kSetVringAddr, a); !s) return s;
    frontend::FrontendQueue& fq = fe_->queue(q);
    const uint64_t idx = q;
    int fd = fq.kick_fd();
    if (auto s = c.send_obj(vu::Request::kSetVringKick, idx, &fd, 1); !s) return s;
    fd = fq.call_fd();
    if (auto s = c.send_obj(vu::Request::kSetVringCall, idx, &fd, 1); !s) return s;
    fd = fq.err_fd();
    if (auto s = c.send_obj(vu::Request::kSetVringErr, idx, &fd, 1); !s) return s;
    if (fe_->negotiated().features & vu::feature::kProtocolFeatures) {
        if (auto s = c.send_obj(vu::Request::kSetVringEnable, vu::VringState{q, 1}); !s) return s;
    }
    return {};
}

wire::Status HostedTransport::driver_ok() {
    // Every queue is set up: the pump may read the shadows from now on.
    if (opts_.interpose && !pump_.joinable()) pump_ = std::thread([this] { pump(); });
    return {};
}

void HostedTransport::notify(uint16_t index) {
    if (index >= num_queues()) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fe_->queue(index).kick_fd(), &one, sizeof(one));
}

void HostedTransport::tamper_next_reply(Tamper kind, uint32_t opcode) {
    kind_ = kind;
    opcode_ = opcode;
    armed_ = true;
}

void HostedTransport::apply_tamper(Shadow& s, vring_used_elem* e) {
    if (e->id >= s.size) return;
    // The chain as the driver wrote it: a readable head (the request), then writable ones.
    const vring_desc* d = &s.desc[e->id];
    auto* in = reinterpret_cast<fuse_in_header*>(fe_->ram().at(d->addr, sizeof(fuse_in_header)));
    if (!in || (opcode_ != 0 && in->opcode != opcode_)) return;
    for (int hops = 0; hops < s.size && (d->flags & VRING_DESC_F_NEXT); ++hops) {
        if (d->next >= s.size) return;
        d = &s.desc[d->next];
        if (!(d->flags & VRING_DESC_F_WRITE)) continue;
        auto* out =
            reinterpret_cast<fuse_out_header*>(fe_->ram().at(d->addr, sizeof(fuse_out_header)));
        if (!out) return;
        switch (kind_) {
            case Tamper::kHeaderLen:
                out->len += 8;
                break;
            case Tamper::kPositiveError:
                out->error = 5;
                break;
            case Tamper::kWrongUnique:
                out->unique ^= 0x100;
                break;
            case Tamper::kShortBody:
                out->len = sizeof(fuse_out_header) + 4;
                out->error = 0;
                e->len = out->len;
                break;
            case Tamper::kUsedLenHuge:
                e->len = 0x7fffffff;
                break;
        }
        armed_ = false;
        return;
    }
}

bool HostedTransport::forward(Shadow& s) {
    const uint16_t idx = __atomic_load_n(&s.shadow->idx, __ATOMIC_ACQUIRE);
    bool any = false;
    while (s.seen != idx) {
        vring_used_elem e = s.shadow->ring[s.seen & (s.size - 1)];
        if (armed_) apply_tamper(s, &e);
        s.real->ring[s.seen & (s.size - 1)] = e;
        ++s.seen;
        __atomic_store_n(&s.real->idx, s.seen, __ATOMIC_RELEASE);
        any = true;
    }
    return any;
}

void HostedTransport::pump() {
    while (!stop_) {
        std::vector<pollfd> fds;
        for (uint32_t q = 0; q < shadows_.size(); ++q)
            fds.push_back(pollfd{fe_->queue(q).call_fd(), POLLIN, 0});
        // The driver polls and asks for no interrupts, so the call eventfd rarely fires:
        // look at the shadows every millisecond anyway.
        ::poll(fds.data(), fds.size(), 1);
        for (pollfd& p : fds) {
            uint64_t v;
            if (p.revents & POLLIN) [[maybe_unused]]
                ssize_t n = ::read(p.fd, &v, sizeof(v));
        }
        for (Shadow& s : shadows_) {
            if (s.on) forward(s);
        }
    }
}

}  // namespace vfs::guest::hosted
