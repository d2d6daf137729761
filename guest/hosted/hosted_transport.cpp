// The hosted Transport over tools/frontend (see hosted_transport.h).
#include "hosted_transport.h"

#include "kernel/console.h"

#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <poll.h>
#include <string.h>
#include <time.h>
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
    fo.own_queues = false;  // the driver brings its own rings
    fo.memory_bytes = o.memory_bytes;
    // Shadow used rings cannot carry the device's avail_event: no EVENT_IDX then.
    fo.event_idx = !o.interpose;
    fo.shmem = o.shmem;
    auto fe = frontend::Frontend::connect(o.socket, fo);
    if (!fe) return wire::Error{fe.error()};
    std::unique_ptr<HostedTransport> t(new HostedTransport());
    t->opts_ = o;
    t->fe_ = std::move(*fe);
    t->dma_ = std::make_unique<GuestRamDma>(t->fe_->ram());
    t->shadows_.resize(fo.num_queues);
    for (uint32_t q = 0; q < fo.num_queues; ++q) {
        auto n = frontend::QueueNotifiers::create();
        if (!n) return wire::Error{n.error()};
        t->fds_.push_back(std::move(*n));
    }
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
    if (!(have & vu::feature::kVersion1)) return wire::Error{EOPNOTSUPP};
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
    frontend::RingPlacement where{size, addrs.desc, addrs.driver, addrs.device};
    Shadow& sh = shadows_[index];
    if (opts_.interpose) {
        auto b = fe_->ram().allocate(wire::used_ring_bytes(size));
        if (!b) return wire::Error{b.error()};
        where.used = b->gpa;  // the daemon writes here; the pump copies into the driver's
    }
    auto rings = fe_->attach_queue(index, where, 0, fds_[index]);
    if (!rings) return wire::Error{rings.error()};
    if (opts_.interpose) {
        auto* real = fe_->ram().at(addrs.device, wire::used_ring_bytes(size));
        if (!real) return wire::Error{EFAULT};
        sh.on = true;
        sh.size = size;
        sh.desc = rings->desc;
        sh.real = reinterpret_cast<vring_used*>(real);
        sh.shadow = rings->used;
    }
    return {};
}

uint64_t HostedTransport::take_calls(uint16_t index) {
    return index < fds_.size() ? fds_[index].take_calls() : 0;
}

wire::Status HostedTransport::driver_ok() {
    // Every queue is set up: the pump may read the shadows from now on.
    if (opts_.interpose && !pump_.joinable()) pump_ = std::thread([this] { pump(); });
    // Tell a DAX backend that acked STATUS that the device runs (QEMU does): it maps
    // nothing before.
    constexpr uint8_t kDriverOk = 1 | 2 | 4 | 8;  // ACKNOWLEDGE, DRIVER, DRIVER_OK, FEATURES_OK
    if (fe_->dax_window()) {
        if (wire::Status s = fe_->set_status(kDriverOk); !s && s.error() != EOPNOTSUPP) return s;
    }
    return {};
}

wire::Result<virtio::SharedMemoryRegion> HostedTransport::shared_memory(uint8_t id) {
    frontend::DaxWindow* w = fe_->dax_window();
    if (id != 0 || !w) return wire::Error{ENOENT};
    const auto addr = reinterpret_cast<uintptr_t>(w->base());
    return virtio::SharedMemoryRegion{addr, addr, w->size()};
}

wire::Status HostedTransport::use_interrupts() {
    if (opts_.interpose) {
        kprintf("hosted: interpose drains the call eventfds: completion by polling\n");
        return wire::Error{EOPNOTSUPP};
    }
    irq_ = true;
    return {};
}

void HostedTransport::wait_for_interrupt(uint64_t max_ns) {
    if (!irq_) return;
    pollfd fds[65];
    nfds_t n = 0;
    for (; n < fds_.size() && n < 65; ++n)
        fds[n] = pollfd{fds_[n].call(), POLLIN, 0};
    const timespec ts{static_cast<time_t>(max_ns / 1'000'000'000ull),
                      static_cast<long>(max_ns % 1'000'000'000ull)};
    // The eventfd keeps a signal sent before the ppoll: nothing is missed.
    if (::ppoll(fds, n, &ts, nullptr) <= 0) return;
    for (nfds_t q = 0; q < n; ++q) {
        if (fds[q].revents & POLLIN) (void)fds_[q].take_calls();
    }
}

void HostedTransport::notify(uint16_t index) {
    if (index >= num_queues()) return;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fds_[index].kick(), &one, sizeof(one));
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
            fds.push_back(pollfd{fds_[q].call(), POLLIN, 0});
        // The driver polls and asks for no interrupts, so the call eventfd rarely fires:
        // look at the shadows every millisecond anyway.
        ::poll(fds.data(), fds.size(), 1);
        for (uint32_t q = 0; q < fds.size(); ++q) {
            if (fds[q].revents & POLLIN) (void)fds_[q].take_calls();
        }
        for (Shadow& s : shadows_) {
            if (s.on) forward(s);
        }
    }
}

}  // namespace vfs::guest::hosted
