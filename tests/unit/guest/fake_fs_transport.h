// An in-process virtio-fs device for host tests of the guest's virtio_fs driver, ukfuse
// and vfs: a virtio Transport whose notify() serves the kicked queue at once through a
// test-supplied FUSE handler, writing whatever reply bytes (well-formed or not) the test
// chooses. Rings live in plain host memory (device address == pointer). No event index.
#pragma once

#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <vector>

#include "drivers/virtio/transport.h"

namespace vfs::guest::testing {

// Owns what it hands out: a session keeps its buffers for the life of the device (the
// guest never unmounts for good), so whatever is still held is freed with the fake.
class HostDma final : public virtio::DmaMemory {
  public:
    HostDma() = default;
    HostDma(const HostDma&) = delete;
    HostDma& operator=(const HostDma&) = delete;
    ~HostDma() {
        for (void* p : live_)
            std::free(p);
    }
    void* allocate_zeroed(size_t size, size_t align) override {
        if (align < sizeof(void*)) align = sizeof(void*);
        void* p = std::aligned_alloc(align, (size + align - 1) / align * align);
        if (p) {
            std::memset(p, 0, size);
            live_.insert(p);
        }
        return p;
    }
    void release(void* p) override {
        live_.erase(p);
        std::free(p);
    }
    uint64_t device_address(const void* p) override { return reinterpret_cast<uintptr_t>(p); }

  private:
    std::set<void*> live_;
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

    explicit FakeFsTransport(Handler h, uint16_t max_queue_size = 128)
        : handler_(std::move(h)), max_(max_queue_size) {}

    wire::Result<uint64_t> negotiate_features(uint64_t wanted) override {
        return (wanted & (1ull << VIRTIO_F_VERSION_1)) | (1ull << VIRTIO_F_VERSION_1);
    }
    wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) override {
        uint8_t cfg[40] = {};
        std::memcpy(cfg, "fake", 4);
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
        Q& q = q_[index];
        q.size = size;
        q.desc = reinterpret_cast<vring_desc*>(a.desc);
        q.avail = reinterpret_cast<vring_avail*>(a.driver);
        q.used = reinterpret_cast<vring_used*>(a.device);
        return {};
    }
    void notify(uint16_t index) override { serve(q_[index]); }
    wire::Status driver_ok() override { return {}; }
    void set_failed() override { failed_ = true; }
    void reset() override {}
    wire::Result<virtio::SharedMemoryRegion> shared_memory(uint8_t) override {
        return wire::Error{ENOENT};
    }

    bool failed() const { return failed_; }
    const std::vector<FakeRequest>& seen() const { return seen_; }

  private:
    struct Q {
        uint16_t size = 0;
        uint16_t next_avail = 0;
        vring_desc* desc = nullptr;
        vring_avail* avail = nullptr;
        vring_used* used = nullptr;
    };

    void serve(Q& q) {
        while (q.next_avail != q.avail->idx) {
            const uint16_t head = q.avail->ring[q.next_avail % q.size];
            ++q.next_avail;
            std::vector<uint8_t> readable;
            std::vector<std::pair<uint8_t*, uint32_t>> writable;
            for (uint16_t i = head;;) {
                const vring_desc& d = q.desc[i];
                auto* p = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(d.addr));
                if (d.flags & VRING_DESC_F_WRITE) {
                    writable.emplace_back(p, d.len);
                } else {
                    readable.insert(readable.end(), p, p + d.len);
                }
                if (!(d.flags & VRING_DESC_F_NEXT)) break;
                i = d.next;
            }
            FakeRequest rq;
            std::memcpy(&rq.in, readable.data(), sizeof(rq.in));
            rq.body.assign(readable.begin() + sizeof(rq.in), readable.end());
            seen_.push_back(rq);
            FakeReply rep = handler_(rq);
            if (!rep.complete) continue;
            uint32_t written = 0;
            for (auto& [p, len] : writable) {
                const uint32_t n = static_cast<uint32_t>(
                    rep.bytes.size() - written < len ? rep.bytes.size() - written : len);
                std::memcpy(p, rep.bytes.data() + written, n);
                written += n;
            }
            if (writable.empty()) written = 0;
            q.used->ring[q.used->idx % q.size] = vring_used_elem{head, written};
            __atomic_store_n(&q.used->idx, static_cast<uint16_t>(q.used->idx + 1),
                             __ATOMIC_RELEASE);
        }
    }

    Handler handler_;
    uint16_t max_;
    Q q_[2];
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
