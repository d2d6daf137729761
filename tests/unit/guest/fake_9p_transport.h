// An in-process virtio-9p device for host tests of the guest's virtio_9p driver, p9 client
// and vfs 9p backend: a virtio Transport (one request queue, mount tag in the
// configuration) whose notify() answers each chain at once through a test-supplied
// handler, writing whatever reply bytes (well-formed or not) the test chooses.
#pragma once

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "drivers/virtio/transport.h"

namespace vfs::guest::testing {

// A reply as the handler builds it. used_len, when set, is what the device claims it
// wrote instead of the bytes it did.
struct Fake9pReply {
    std::vector<uint8_t> bytes;
    bool complete = true;  // false: keep the chain (never answer)
    int64_t used_len = -1;
};

class Fake9pTransport final : public virtio::Transport {
  public:
    using Handler = std::function<Fake9pReply(const std::vector<uint8_t>& request)>;

    Fake9pTransport(Handler h, std::string tag = "p9fake") : handler_(std::move(h)) {
        const uint16_t len = static_cast<uint16_t>(tag.size());
        config_.resize(2 + tag.size());
        std::memcpy(config_.data(), &len, 2);
        std::memcpy(config_.data() + 2, tag.data(), tag.size());
    }

    // Raw configuration bytes (a hostile tag length, say).
    void set_config(std::vector<uint8_t> cfg) { config_ = std::move(cfg); }

    wire::Result<uint64_t> negotiate_features(uint64_t wanted) override {
        return (wanted & ((1ull << VIRTIO_F_VERSION_1) | 1ull)) | (1ull << VIRTIO_F_VERSION_1);
    }
    wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) override {
        if (offset + len > config_.size()) return wire::Error{ERANGE};
        std::memcpy(out, config_.data() + offset, len);
        return {};
    }
    uint16_t num_queues() override { return 1; }
    wire::Result<uint16_t> queue_size(uint16_t index, uint16_t requested) override {
        if (index >= 1) return wire::Error{ENOENT};
        uint16_t n = requested < 128 ? requested : 128;
        while (n & (n - 1))
            n &= static_cast<uint16_t>(n - 1);
        return n;
    }
    wire::Status enable_queue(uint16_t, uint16_t size, const virtio::QueueAddresses& a) override {
        size_ = size;
        desc_ = reinterpret_cast<vring_desc*>(a.desc);
        avail_ = reinterpret_cast<vring_avail*>(a.driver);
        used_ = reinterpret_cast<vring_used*>(a.device);
        return {};
    }
    void notify(uint16_t) override { serve(); }
    wire::Status driver_ok() override { return {}; }
    void set_failed() override { failed_ = true; }
    void reset() override {}
    wire::Result<virtio::SharedMemoryRegion> shared_memory(uint8_t) override {
        return wire::Error{ENOENT};
    }

    bool failed() const { return failed_; }
    const std::vector<std::vector<uint8_t>>& seen() const { return seen_; }

  private:
    void serve() {
        while (next_avail_ != avail_->idx) {
            const uint16_t head = avail_->ring[next_avail_ % size_];
            ++next_avail_;
            std::vector<uint8_t> readable;
            std::vector<std::pair<uint8_t*, uint32_t>> writable;
            for (uint16_t i = head;;) {
                const vring_desc& d = desc_[i];
                auto* p = reinterpret_cast<uint8_t*>(static_cast<uintptr_t>(d.addr));
                if (d.flags & VRING_DESC_F_WRITE) {
                    writable.emplace_back(p, d.len);
                } else {
                    readable.insert(readable.end(), p, p + d.len);
                }
                if (!(d.flags & VRING_DESC_F_NEXT)) break;
                i = d.next;
            }
            seen_.push_back(readable);
            Fake9pReply rep = handler_(readable);
            if (!rep.complete) continue;
            uint32_t written = 0;
            for (auto& [p, len] : writable) {
                const size_t left = rep.bytes.size() - written;
                const uint32_t n = static_cast<uint32_t>(left < len ? left : len);
                std::memcpy(p, rep.bytes.data() + written, n);
                written += n;
            }
            const uint32_t used = rep.used_len >= 0 ? static_cast<uint32_t>(rep.used_len) : written;
            used_->ring[used_->idx % size_] = vring_used_elem{head, used};
            __atomic_store_n(&used_->idx, static_cast<uint16_t>(used_->idx + 1), __ATOMIC_RELEASE);
        }
    }

    Handler handler_;
    std::vector<uint8_t> config_;
    uint16_t size_ = 0, next_avail_ = 0;
    vring_desc* desc_ = nullptr;
    vring_avail* avail_ = nullptr;
    vring_used* used_ = nullptr;
    bool failed_ = false;
    std::vector<std::vector<uint8_t>> seen_;
};

}  // namespace vfs::guest::testing
