// vfs::frontend::Frontend plays QEMU's part against any vhost-user-fs backend socket:
// the handshake in QEMU's order, memfd-backed guest memory, driver-side rings, the ring
// stop/start cycle, and FUSE requests sent synchronously or pipelined across queues.
//
// It is a test and benchmark harness, not a VMM: it allocates freely and blocks, but it
// never trusts the backend (replies are checked against requests, used entries against
// chains) and never lets a backend's error pass silently.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend_channel.h"
#include "dax_window.h"
#include "dirty_log.h"
#include "frontend_queue.h"
#include "guest_ram.h"
#include "vhost_user_client.h"

namespace vfs::frontend {

struct FrontendOptions {
    uint32_t num_queues = 2;  // queue 0 is high-priority, 1.. are request queues
    uint32_t queue_size = 128;
    uint64_t memory_bytes = 64ull << 20;
    uint32_t memory_regions = 1;
    bool event_idx = true;    // ack RING_EVENT_IDX if offered
    bool ack_config = false;  // ack CONFIG if offered (QEMU 7.2 does not)
    // DAX, as QEMU 11.1 with vhost-user-test-device-pci: ack SHMEM if offered, size the
    // window with GET_SHMEM_CONFIG and serve the backend's SHMEM_MAP/UNMAP in it
    // (dax_window()). Without it, backend requests are recorded and refused.
    bool shmem = false;
    // As QEMU 11.1 after answering a SHMEM_MAP: report the mapping as guest memory, an
    // ADD_MEM_REG with the mapping's fd (a whole SET_MEM_TABLE without CONFIGURE_MEM_SLOTS),
    // and a REM_MEM_REG after an unmap (shmem_reports.cpp). false: a front-end that never
    // reports, which the daemon waits for a bounded time once.
    bool report_shmem = true;
    // Ack CONFIGURE_MEM_SLOTS if offered, as QEMU does; false: memory changes (the DAX
    // reports) go as whole SET_MEM_TABLEs, as QEMU's without the feature.
    bool mem_slots = true;
    // The window also refuses what QEMU 11.1.3 refuses (a fd not open read-write, a range
    // past the file's end; see dax_window.h). Off: a front-end that honours the flags.
    QemuShmemRules qemu_shmem_rules = QemuShmemRules::kOn;
    // false: no rings of our own (queue() is unusable); the caller brings its rings and
    // notifiers to attach_queue(), as the hosted guest's driver does.
    bool own_queues = true;
    // Ack LOG_SHMFD if offered, so start_dirty_log() can hand the backend a log.
    bool log_shmfd = false;
    int timeout_ms = 10000;  // per request
};

// What the backend offered and what we acked.
struct NegotiatedFeatures {
    uint64_t offered_features = 0;
    uint64_t features = 0;
    uint64_t offered_protocol_features = 0;
    uint64_t protocol_features = 0;
    uint64_t queue_num = 0;      // 0 if MQ was not offered
    uint64_t max_mem_slots = 0;  // 0 if CONFIGURE_MEM_SLOTS was not offered
    uint64_t shmem_size = 0;     // region 0 of GET_SHMEM_CONFIG; 0 without SHMEM
};

// The DAX mappings the frontend reported as guest memory (FrontendOptions::report_shmem).
struct ShmemReportCounters {
    uint64_t added = 0;    // regions reported (ADD_MEM_REG, or in a SET_MEM_TABLE)
    uint64_t removed = 0;  // regions withdrawn (REM_MEM_REG, or left out of a SET_MEM_TABLE)
    uint64_t failed = 0;   // reports the backend refused, or that did not fit the table
    uint64_t live = 0;     // regions reported now
};

class Frontend {
  public:
    // Where the DAX window sits in guest-physical space (a 64-bit BAR, above any guest RAM
    // this frontend allocates): a mapping at window offset o is reported at kShmemGpa + o.
    static constexpr uint64_t kShmemGpa = 1ull << 40;

    struct Ticket {
        uint32_t queue = 0;
        uint64_t token = 0;
    };

    static Result<std::unique_ptr<Frontend>> connect(const std::string& socket_path,
                                                     FrontendOptions opts = {});
    ~Frontend();

    // GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
    // GET_SHMEM_CONFIG (with opts.shmem; reserves the DAX window), SET_OWNER,
    // SET_BACKEND_REQ_FD, SET_FEATURES.
    Status handshake();
    // SET_MEM_TABLE with every region of the guest memory (and the DAX mappings reported).
    Status set_mem_table();
    // SET_VRING_NUM/BASE/ADDR/KICK/CALL/ERR and SET_VRING_ENABLE for queue q, whose
    // rings are already in guest memory at `where`, resuming at `base`. Returns the rings
    // as this process sees them; EFAULT if a part is outside guest memory.
    Result<AttachedRings> attach_queue(uint32_t q, const RingPlacement& where, uint16_t base,
                                       const QueueNotifiers& fds);
    // attach_queue for one of our own queues, resuming where stop_queue left it.
    Status start_queue(uint32_t q);
    // SET_VRING_ENABLE 0 and GET_VRING_BASE: returns the index to resume from.
    Result<uint16_t> stop_queue(uint32_t q);
    // As after a guest reboot: fresh rings, resumed from index 0 on the next start.
    Status reset_queue(uint32_t q);
    // handshake + set_mem_table + start every queue. (virtiofsd-cxx maps into the DAX
    // window only once every ring it announces runs: start them all, with --num-queues
    // equal to num_queues.)
    Status setup();
    // SET_STATUS (the virtio device status byte); EOPNOTSUPP unless STATUS was acked.
    Status set_status(uint8_t status);

    // Migration's dirty log, as QEMU starts it on running rings (frontend_dirty_log.cpp):
    // SET_LOG_BASE with a new bitmap covering guest memory (its u64 reply must be 0),
    // SET_FEATURES with VHOST_F_LOG_ALL, and SET_VRING_ADDR with VHOST_VRING_F_LOG and the
    // used ring's guest address for every queue of ours. EOPNOTSUPP unless LOG_SHMFD was
    // acked and LOG_ALL offered.
    Status start_dirty_log();
    // SET_FEATURES without LOG_ALL and SET_VRING_ADDR without the flag (the bitmap stays).
    Status stop_dirty_log();
    // The bitmap start_dirty_log() handed over, or null.
    DirtyBitmap* dirty_log() { return log_.get(); }

    // Sends one FUSE request (any bytes) on queue q with room for reply_capacity bytes.
    Result<Ticket> submit(uint32_t q, std::span<const uint8_t> request, uint32_t reply_capacity);
    // The device-writable buffer of a request in flight (for tests that check where the
    // backend wrote); EINVAL for an unknown ticket.
    Result<GuestBuffer> reply_buffer(const Ticket& t);
    // Waits for a submitted request; returns exactly the bytes the backend wrote.
    Result<std::vector<uint8_t>> wait(const Ticket& t);
    // submit + wait.
    Result<std::vector<uint8_t>> request(uint32_t q, std::span<const uint8_t> request,
                                         uint32_t reply_capacity);
    // FUSE_INIT on queue q; checks the reply header. Returns the fuse_init_out. `offered`
    // is what a guest kernel would offer (flags | flags2 << 32; INIT_EXT is added when a
    // bit above 31 is set); none by default.
    Result<fuse_init_out> fuse_init(uint32_t q, uint64_t offered = 0);

    const NegotiatedFeatures& negotiated() const { return neg_; }
    uint32_t num_queues() const { return opts_.num_queues; }
    VhostUserClient& client() { return *client_; }
    GuestRam& ram() { return *ram_; }
    FrontendQueue& queue(uint32_t q) { return *queues_[q]; }
    BackendChannel& backend_channel() { return *backend_; }
    // The DAX window (opts.shmem and the backend offered SHMEM with a region 0), else
    // null. base()[0, size()) is what a guest sees of the device's shared-memory BAR.
    DaxWindow* dax_window() { return window_.get(); }
    ShmemReportCounters shmem_reports() const;
    uint64_t next_unique() { return unique_.fetch_add(1); }

  private:
    Frontend() = default;

    struct InFlight {
        GuestBuffer out;
        GuestBuffer in;
    };

    // SET_VRING_ADDR for one of our started queues, with the log flag or without.
    Status set_queue_log(uint32_t q, bool log);
    // After the backend channel answered a map or unmap: reports it (shmem_reports.cpp).
    void report_shmem(const vu::Message& msg, uint64_t result);
    // SET_MEM_TABLE of guest RAM and the reported mappings; shmem_mu_ held.
    Status send_mem_table_locked();

    struct ReportedRegion {
        vu::MemoryRegion region;
        UniqueFd fd;  // the mapped file, as QEMU keeps the RAMBlock's fd
    };

    FrontendOptions opts_;
    NegotiatedFeatures neg_;
    std::unique_ptr<VhostUserClient> client_;
    std::unique_ptr<GuestRam> ram_;
    std::vector<std::unique_ptr<FrontendQueue>> queues_;
    std::vector<uint16_t> bases_;
    std::unique_ptr<BackendChannel> backend_;
    std::unique_ptr<DaxWindow> window_;  // set in handshake(), before the channel is sent
    std::unique_ptr<DirtyBitmap> log_;
    mutable std::mutex shmem_mu_;                  // taken before the client's own lock
    std::map<uint64_t, ReportedRegion> reported_;  // by window offset
    ShmemReportCounters report_counters_;
    std::mutex inflight_mu_;
    std::unordered_map<uint64_t, InFlight> inflight_;
    std::atomic<uint64_t> token_{1};
    std::atomic<uint64_t> unique_{1};
};

}  // namespace vfs::frontend
