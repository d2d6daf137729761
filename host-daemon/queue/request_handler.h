// The contract between a queue worker and whatever serves requests (the FUSE server): the
// worker pops and validates chains; the handler turns each one into a reply, now or later.
//
// Each chain arrives in a preallocated RequestSlot that stays the handler's until it calls
// QueueContext::complete(). A handler may finish inside handle(), or submit io_uring work
// on the worker's own ring (QueueContext::get_sqe, tagged with the slot and a cookie) and
// finish from on_io_complete(), which runs on the same worker thread: no locks, no
// allocation per request. A handler must never touch a slot after completing it, and must
// never block the worker thread on I/O.
#pragma once

#include <liburing.h>
#include <stdint.h>

#include <memory>

#include "memory/guest_memory.h"
#include "vfs/wire/virtqueue_device.h"

namespace vfs::host {

// The most segments one chain may have: 256 data pages plus headers and arguments. A
// longer chain marks the queue broken (Linux caps a virtio-fs request at 256 pages).
inline constexpr uint32_t kMaxChainSegments = 264;

struct RequestSlot {
    uint32_t index = 0;                  // stable: 0 .. QueueContext::slot_count()-1
    vfs::wire::DeviceChain chain;        // readable segments first, then writable ones
    vfs::wire::Segment* segs = nullptr;  // kMaxChainSegments entries, owned by the worker
    // Keeps every mapping the chain points into alive until the request completes, even if
    // the front-end removes the region meanwhile.
    std::shared_ptr<const memory::MemoryMap> memory;
};

// What a handler may do on the queue that gave it a request. Implemented by QueueWorker;
// only valid on the worker thread.
class QueueContext {
  public:
    virtual uint32_t queue_index() const = 0;
    virtual uint32_t slot_count() const = 0;

    // Returns the request to the guest with `written` bytes in its writable segments. The
    // used entry is pushed now and published as soon as the handler returns to the worker.
    virtual void complete(RequestSlot& slot, uint32_t written) = 0;

    // An SQE on the worker's io_uring whose completion comes back to on_io_complete() with
    // this slot and cookie. Submitted when the worker next waits. nullptr if the ring is
    // full even after submitting what was queued (the handler then completes with an
    // error reply).
    virtual io_uring_sqe* get_sqe(RequestSlot& slot, uint32_t cookie) = 0;

    // The guest broke the protocol in a way a reply cannot express: no more chains are
    // popped from this queue until it is restarted.
    virtual void mark_broken(const char* why) = 0;

  protected:
    ~QueueContext() = default;
};

class RequestHandler {
  public:
    virtual ~RequestHandler() = default;

    // A validated chain. Shared by all queues: it is called concurrently from every
    // queue's worker thread, each with its own QueueContext.
    virtual void handle(QueueContext& ctx, RequestSlot& slot) = 0;

    // The CQE of an SQE this handler got from ctx.get_sqe(slot, cookie).
    virtual void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                                int32_t result) {
        (void)cookie;
        (void)result;
        ctx.complete(slot, 0);
    }
};

}  // namespace vfs::host
