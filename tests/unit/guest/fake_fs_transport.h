// An in-process virtio-fs device for host tests of the guest's virtio_fs driver, ukfuse
// and vfs: a virtio Transport whose notify() serves the kicked queue at once through a
// test-supplied FUSE handler, writing whatever reply bytes (well-formed or not) the test
// chooses. The device side of the rings is the daemon's own wire::DeviceQueue, so these
// tests run the driver against the ring code the daemon runs. Rings live in plain host
// memory (device address == pointer). EVENT_IDX is offered; interrupts the device would
// raise are counted. With offer_interrupts the driver may sleep for them
// (wait_for_interrupt); with deferred, a kick is served only then, as by a device that
// answers while the CPU halts, and a sleep no completion signalled is counted: a real
// CPU would have slept to its timer.
#pragma once

#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <vector>

#include "drivers/virtio/transport.h"
#include "vfs/wire/sg.h"
#include "vfs/wire/virtqueue_device.h"

namespace vfs::guest::testing {

// Owns what it hands out: a session keeps its buffers for the life of the device (the
// guest never unmounts for good), so whatever is still held is freed with the fake.
class HostDma final : public virtio::DmaMemory {
  public:
    HostDma() = default;
    HostDma(const HostDma&) = delete;
    HostDma& operator=(const HostDma&) = delete;
    ~HostDma() {
        for (auto& [p, size] : live_)
            std::free(p);
    }
    void* allocate_zeroed(size_t size, size_t align) override {
        if (align < sizeof(void*)) align = sizeof(void*);
        void* p = std::aligned_alloc(align, (size + align - 1) / align * align);
        if (p) {
            std::memset(p, 0, size);
            live_[p] = size;
        }
        return p;
    }
    void release(void* p) override {
        live_.erase(p);
        std::free(p);
    }
    uint64_t device_address(const void* p) override { return reinterpret_cast<uintptr_t>(p); }
    // What is allocated now: pointer -> size asked for.
    const std::map<void*, size_t>& live() const { return live_; }

  private:
    std::map<void*, size_t> live_;
};

// One FUSE request as the device sees it.
struct FakeRequest {
    fuse_in_header in{};
    std::vector<uint8_t> body;  // everything after the in header
    template <class T>
    T arg() const {
        T t{};
        std::memcpy(&t, body.data(), body.size() < sizeof(T) ? body.size() : sizeof(T));
        return t;
    }
};

// A reply as the handler builds it: bytes to write into the chain's writable buffers.
struct FakeReply {
    std::vector<uint8_t> bytes;
    bool complete = true;  // false: keep the chain (never answer)

    static FakeReply ok(uint64_t unique, const void* body = nullptr, size_t len = 0) {
        FakeReply r;
        fuse_out_header h{};
        h.len = static_cast<uint32_t>(sizeof(h) + len);
        h.unique = unique;
        r.bytes.resize(sizeof(h) + len);
        std::memcpy(r.bytes.data(), &h, sizeof(h));
        if (len) std::memcpy(r.bytes.data() + sizeof(h), body, len);
        return r;
    }
    static FakeReply error(uint64_t unique, int err) {
        FakeReply r = ok(unique);
        fuse_out_header h{};
        std::memcpy(&h, r.bytes.data(), sizeof(h));
        h.error = -err;
        std::memcpy(r.bytes.data(), &h, sizeof(h));
        return r;
    }
};

class FakeFsTransport final : public virtio::Transport {
  public:
    using Handler = std::function<FakeReply(const FakeRequest&)>;

    explicit FakeFsTransport(Handler h, uint16_t max_queue_size = 128, const char* tag = "fake")
        : handler_(std::move(h)), max_(max_queue_size), tag_(tag) {}

    wire::Result<uint64_t> negotiate_features(uint64_t wanted) override {
        const uint64_t offered = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
        features_ = (wanted & offered) | (1ull << VIRTIO_F_VERSION_1);
        return features_;
    }
    wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) override {
        uint8_t cfg[40] = {};
        std::memcpy(cfg, tag_, std::strlen(tag_) < 36 ? std::strlen(tag_) : 36);
        const uint32_t nreq = 1;
        std::memcpy(cfg + 36, &nreq, 4);
        if (offset + len > sizeof(cfg)) return wire::Error{ERANGE};
        std::memcpy(out, cfg + offset, len);
        return {};
    }
    uint16_t num_queues() override { return 2; }
    wire::Result<uint16_t> queue_size(uint16_t index, uint16_t requested) override {
        if (index >= 2) return wire::Error{ENOENT};
        uint16_t n = requested < max_ ? requested : max_;
        if (n == 0) return wire::Error{EINVAL};
        while (n & (n - 1))
            n &= static_cast<uint16_t>(n - 1);
        return n;
    }
    wire::Status enable_queue(uint16_t index, uint16_t size,
                              const virtio::QueueAddresses& a) override {
        if (index >= 2) return wire::Error{ENOENT};
        const wire::DeviceQueue::Rings r{reinterpret_cast<vring_desc*>(a.desc),
                                         reinterpret_cast<vring_avail*>(a.driver),
                                         reinterpret_cast<vring_used*>(a.device)};
        const bool event_idx = (features_ >> VIRTIO_RING_F_EVENT_IDX) & 1;
        return q_[index].ring.init(size, r, event_idx, 0);
    }
    void notify(uint16_t index) override {
        if (deferred)
            pending_[index] = true;
        else
            serve(q_[index]);
    }
    wire::Status use_interrupts() override {
        if (!offer_interrupts) return wire::Error{EOPNOTSUPP};
        irq_ = true;
        return {};
    }
    bool interrupts_active() override { return irq_; }
    void wait_for_interrupt(uint64_t) override {
        ++sleeps;
        const uint32_t before = q_[0].signals + q_[1].signals;
        for (uint16_t q = 0; q < 2; ++q) {
            if (pending_[q]) {
                pending_[q] = false;
                serve(q_[q]);
            }
        }
        if (q_[0].signals + q_[1].signals == before) ++unsignalled_sleeps;
    }

    bool offer_interrupts = false;
    bool deferred = false;
    int sleeps = 0;
    int unsignalled_sleeps = 0;
    wire::Status driver_ok() override { return {}; }
    void set_failed() override { failed_ = true; }
    void reset() override {}
    wire::Result<virtio::SharedMemoryRegion> shared_memory(uint8_t) override {
        return wire::Error{ENOENT};
    }

    bool failed() const { return failed_; }
    const std::vector<FakeRequest>& seen() const { return seen_; }
    // Interrupts the device would have raised on queue q (flush() said "signal").
    uint32_t signals(uint16_t q) const { return q_[q].signals; }
    // The error DeviceQueue refused a chain with (0: none); the queue stops serving.
    int ring_error(uint16_t q) const { return q_[q].error; }

  private:
    struct Q {
        wire::DeviceQueue ring;
        uint32_t signals = 0;
        int error = 0;
    };
    static constexpr uint32_t kMaxSegs = 64;

    // As a daemon's worker: pop and answer until empty, re-arm the kick, re-check.
    void serve(Q& q) {
        if (q.error) return;
        do {
            drain(q);
        } while (!q.error && q.ring.enable_notifications());
    }

    void drain(Q& q) {
        // Device address == pointer; null is the one address nothing has.
        auto translate = [](uint64_t addr, uint64_t) {
            return reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(addr));
        };
        for (;;) {
            wire::Segment segs[kMaxSegs];
            wire::DeviceChain c;
            auto popped = q.ring.pop(translate, segs, kMaxSegs, &c);
            if (!popped) {
                q.error = popped.error();
                return;
            }
            if (!*popped) return;
            std::vector<uint8_t> readable(c.readable_bytes);
            wire::SgReader rd(c.readable(), c.n_readable);
            (void)rd.read(readable.data(), readable.size());
            FakeRequest rq;
            std::memcpy(&rq.in, readable.data(),
                        readable.size() < sizeof(rq.in) ? readable.size() : sizeof(rq.in));
            if (readable.size() > sizeof(rq.in))
                rq.body.assign(readable.begin() + sizeof(rq.in), readable.end());
            seen_.push_back(rq);
            FakeReply rep = handler_(rq);
            if (!rep.complete) continue;
            // A reply longer than the chain's room is cut, as a device would have to.
            wire::SgWriter w(c.writable(), c.n_writable);
            const uint64_t n = rep.bytes.size() < w.capacity() ? rep.bytes.size() : w.capacity();
            (void)w.write(rep.bytes.data(), n);
            q.ring.push(c.head, static_cast<uint32_t>(w.written()));
            q.signals += q.ring.flush();
        }
    }

    Handler handler_;
    uint16_t max_;
    const char* tag_;
    Q q_[2];
    bool pending_[2] = {};
    bool irq_ = false;
    uint64_t features_ = 0;
    bool failed_ = false;
    std::vector<FakeRequest> seen_;
};

// INIT's reply with the given max_pages (FUSE_MAX_PAGES) and flags.
inline FakeReply init_reply(const FakeRequest& rq, uint16_t max_pages, uint32_t flags = 0) {
    fuse_init_out o{};
    o.major = FUSE_KERNEL_VERSION;
    o.minor = FUSE_KERNEL_MINOR_VERSION;
    o.max_write = 1u << 20;
    o.flags = FUSE_MAX_PAGES | flags;
    o.max_pages = max_pages;
    return FakeReply::ok(rq.in.unique, &o, sizeof(o));
}

}  // namespace vfs::guest::testing
