// Drives one backend through the in-process frontend the way a guest kernel would: FUSE
// requests built with common/'s codec in preallocated guest-memory slots, `depth` of them
// in flight spread over the request queues (FORGETs on the high-priority queue, as Linux
// sends them), completions taken as they come, with no allocation or copy per request so
// the numbers measure the backend, not the harness.
#pragma once

#include <poll.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "frontend.h"
#include "run_result.h"
#include "vfs/wire/fuse_client.h"
#include "workload.h"

namespace vfs::bench {

struct PipelineOptions {
    uint32_t request_queues = 1;
    uint32_t max_depth = 64;
    uint32_t max_reply_data = 1u << 20;
    // Three descriptors per request (header, reply head, data): 64 in flight on one queue
    // need 192, so 256 (Linux guests use QEMU's default of 128 with indirect descriptors).
    uint32_t queue_size = 256;
    uint64_t scratch_bytes = 32ull << 20;  // guest memory for WRITE payloads
    int timeout_ms = 10000;                // no completion for this long fails the run
    // Spin on the used rings, interrupts off, instead of sleeping on the call eventfds: the
    // unikernel guest's way (it only polls), which spares the daemon the wake-up of a
    // sleeping client.
    bool client_poll = false;
};

// A synchronous reply (untimed set-up): the reply struct and data copied out.
struct SyncReply {
    int error = 0;
    alignas(8) uint8_t body[vfs::wire::kMaxReplyStructSize] = {};
    std::vector<uint8_t> data;

    template <class T>
    const T& as() const {
        static_assert(sizeof(T) <= sizeof(body));
        return *reinterpret_cast<const T*>(body);
    }
};

class FusePipeline {
  public:
    static Result<std::unique_ptr<FusePipeline>> connect(const std::string& socket,
                                                         const PipelineOptions& opts);

    // FUSE_INIT with the flags a Linux 6.1 guest sends (big writes, max_pages, readdirplus).
    Status init();
    uint32_t max_write() const { return max_write_; }
    uint32_t minor() const { return proto_.minor; }

    // One request, waited for (set-up and teardown only).
    Result<SyncReply> call(const FuseCall& c);
    // Keeps `depth` operations of w in flight for `seconds` (and, if max_ops is not 0,
    // starts no more than max_ops), then drains.
    RunResult run(FuseWorkload& w, uint32_t depth, double seconds, uint64_t max_ops = 0);

    // Guest memory workloads may point WRITE payloads into (scratch_bytes long).
    uint8_t* scratch() const { return scratch_.ptr; }

  private:
    struct Slot {
        vfs::frontend::GuestBuffer req, head, data;
        FuseCall call;
        vfs::wire::ClientRequest rq;
        alignas(8) uint8_t body[vfs::wire::kMaxReplyStructSize];
        uint64_t op_start_ns = 0;
        uint32_t queue = 1;
    };

    FusePipeline() = default;
    Status submit(uint32_t slot_index);
    // Decodes slot's reply of used_len bytes; EPROTO if malformed.
    Result<FuseReply> decode(Slot& s, uint32_t used_len);
    // Takes whatever completed on any queue (sleeping on the call eventfds if nothing
    // has), into done. ETIMEDOUT after timeout_ms without one.
    Status reap(std::vector<vfs::wire::DriverCompletion>* done);
    uint64_t gpa_of(const uint8_t* p) const { return static_cast<uint64_t>(p - fe_->ram().base()); }

    PipelineOptions opts_;
    std::unique_ptr<vfs::frontend::Frontend> fe_;
    std::vector<Slot> slots_;
    std::vector<pollfd> call_fds_;  // one per queue, for reap()
    vfs::frontend::GuestBuffer scratch_;
    vfs::wire::Proto proto_ = vfs::wire::Proto::current();
    uint32_t max_write_ = 0;
};

}  // namespace vfs::bench
