// The virtio Transport for the hosted build: tools/frontend plays QEMU's part against a
// vhost-user-fs daemon's socket, so the same virtio_fs driver, ukfuse, vfs and apps run
// as a Linux program. The configuration space QEMU would synthesise (tag,
// num_request_queues) comes from the options, as QEMU's comes from its command line.
//
// With interpose on, the daemon writes used entries into shadow rings and a thread
// copies them into the driver's, optionally corrupting one reply first: that is how tests
// inject a malformed reply from a real daemon. It is a test harness, never a fast path.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "drivers/virtio/transport.h"
#include "frontend.h"
#include "guest_ram_dma.h"
#include "queue_attach.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::guest::hosted {

struct HostedOptions {
    std::string socket;
    std::string tag = "myfs";
    uint32_t request_queues = 1;
    uint32_t queue_size = 128;
    uint64_t memory_bytes = 256ull << 20;
    bool interpose = false;  // shadow used rings, for tamper_next_reply
    // As QEMU 11.1's vhost-user-test-device-pci: take the DAX window the daemon offers
    // (SHMEM, GET_SHMEM_CONFIG) and show it as shared-memory region 0.
    bool shmem = true;
};

// What tamper_next_reply does to the chosen reply.
enum class Tamper {
    kHeaderLen,      // out header's len disagrees with the bytes written
    kPositiveError,  // error field positive (not a -errno)
    kWrongUnique,    // answers another request
    kShortBody,      // cut to the header plus 4 bytes of its struct
    kUsedLenHuge,    // used entry claims more bytes than the chain had (breaks the queue)
};

class HostedTransport final : public virtio::Transport {
  public:
    static wire::Result<std::unique_ptr<HostedTransport>> connect(const HostedOptions& o);
    ~HostedTransport();

    virtio::DmaMemory& dma() { return *dma_; }

    wire::Result<uint64_t> negotiate_features(uint64_t wanted) override;
    wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) override;
    uint16_t num_queues() override;
    wire::Result<uint16_t> queue_size(uint16_t index, uint16_t requested) override;
    wire::Status enable_queue(uint16_t index, uint16_t size,
                              const virtio::QueueAddresses& addrs) override;
    void notify(uint16_t index) override;
    wire::Status driver_ok() override;
    void set_failed() override { failed_ = true; }
    void reset() override {}
    // Region 0 is the frontend's DAX window, when the daemon offered one.
    wire::Result<virtio::SharedMemoryRegion> shared_memory(uint8_t id) override;
    // The "interrupt" is the call eventfd the daemon writes: the driver blocks in ppoll on
    // every queue's instead of spinning. Not with interpose (its pump drains them).
    wire::Status use_interrupts() override;
    bool interrupts_active() override { return irq_; }
    void wait_for_interrupt(uint64_t max_ns) override;

    // The next reply to a request with this opcode (0: any) on a request queue is
    // corrupted as `kind` says before the driver sees it. Needs interpose.
    void tamper_next_reply(Tamper kind, uint32_t opcode);
    bool tamper_pending() const { return armed_.load(); }
    bool failed() const { return failed_; }
    // Times the daemon wrote queue `index`'s call eventfd since the last take (not with
    // interpose, whose pump drains it).
    uint64_t take_calls(uint16_t index);

  private:
    struct Shadow {
        bool on = false;
        uint16_t size = 0;
        uint16_t seen = 0;
        vring_desc* desc = nullptr;
        vring_used* real = nullptr;    // the driver's used ring
        vring_used* shadow = nullptr;  // the daemon's
    };
    HostedTransport() = default;
    void pump();
    bool forward(Shadow& s);
    void apply_tamper(Shadow& s, vring_used_elem* e);

    HostedOptions opts_;
    std::unique_ptr<frontend::Frontend> fe_;
    std::unique_ptr<GuestRamDma> dma_;
    std::vector<Shadow> shadows_;
    std::vector<frontend::QueueNotifiers> fds_;  // per queue
    std::thread pump_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> armed_{false};
    Tamper kind_ = Tamper::kHeaderLen;
    uint32_t opcode_ = 0;
    bool failed_ = false;
    bool irq_ = false;
};

}  // namespace vfs::guest::hosted
