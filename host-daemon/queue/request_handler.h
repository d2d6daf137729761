// The contract between a queue worker and whatever serves requests (the FUSE server): the
// worker pops and validates chains; the handler turns each one into a reply, now or later.
//
// When a queue starts, the worker asks the RequestHandler for that queue's QueueHandler,
// which allocates then whatever it keeps per request, for every slot: nothing is allocated
// on the request path. Each chain arrives in a preallocated RequestSlot that stays the
// handler's until it calls QueueContext::complete(). A handler may finish inside handle(),
// or start a data operation on the worker's I/O engine (QueueContext::io()) and finish
// from on_io_complete(), which runs on the same worker thread: no locks. A handler must
// never touch a slot after completing it, and must never block the worker on I/O.
// Where the queue has a thread pool (--thread-pool-size), a request that may block (a
// metadata call on a slow file system) is handed to it with QueueContext::offload():
// run_offloaded() serves it on a pool thread and the worker completes the slot with the
// length it returns, while it goes on serving other slots.
#pragma once

#include <stdint.h>

#include <memory>

#include "memory/guest_memory.h"
#include "vfs/wire/virtqueue_device.h"

namespace vfs::host {

class IoEngine;

// The most segments one chain may have: 256 data pages plus headers and arguments. A
// longer chain marks the queue broken (Linux caps a virtio-fs request at 256 pages).
inline constexpr uint32_t kMaxChainSegments = 264;

struct RequestSlot {
    uint32_t index = 0;                  // stable: 0 .. the queue's slot count - 1
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

    // Returns the request to the guest with `written` bytes in its writable segments. The
    // used entry is pushed now and published as soon as the handler returns to the worker.
    virtual void complete(RequestSlot& slot, uint32_t written) = 0;

    // The worker's I/O engine (queue/io_engine.h): a data operation it queues for a slot
    // and cookie comes back to on_io_complete() with them.
    virtual IoEngine& io() = 0;

    // The guest broke the protocol in a way a reply cannot express: no more chains are
    // popped from this queue until it is restarted.
    virtual void mark_broken(const char* why) = 0;

    // Other requests than this one are in flight on the queue or waiting in its ring: an
    // operation run inline now would hold them up (io_engine.h's write policy).
    virtual bool others_waiting() const = 0;

    // The queue has a thread pool: offload() may be used.
    virtual bool can_offload() const = 0;
    // Hands the slot to the pool: QueueHandler::run_offloaded() serves it on a pool
    // thread, and the worker completes it with the length that returns (replies may thus
    // complete out of order). The slot, and everything the handler keeps for it, is the
    // pool thread's until then; the handler touches neither meanwhile.
    virtual void offload(RequestSlot& slot) = 0;
    // Waits until nothing offloaded from this queue is still running: for a request that
    // must not overlap others (INIT and DESTROY reset the filesystem). Their replies are
    // published on the worker's next turn.
    virtual void wait_offloaded() = 0;

  protected:
    ~QueueContext() = default;
};

// Serves one queue's requests, on that queue's worker thread only.
class QueueHandler {
  public:
    virtual ~QueueHandler() = default;

    // A validated chain.
    virtual void handle(QueueContext& ctx, RequestSlot& slot) = 0;

    // The result of a data operation this handler started on ctx.io() for this slot and
    // cookie: bytes moved, or -errno.
    virtual void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                                int32_t result) {
        (void)cookie;
        (void)result;
        ctx.complete(slot, 0);
    }

    // On a pool thread, for a slot this handler gave to QueueContext::offload(): serves
    // it and returns the reply length. Must not touch the QueueContext.
    virtual uint32_t run_offloaded(RequestSlot& slot) {
        (void)slot;
        return 0;
    }
};

// Shared by all queues, whose handlers run concurrently, one worker thread each.
class RequestHandler {
  public:
    virtual ~RequestHandler() = default;

    // A queue is starting (on the connection thread, before its worker pops anything):
    // its handler, with the state of all `slot_count` slots (indices 0 .. slot_count-1)
    // allocated now.
    virtual std::unique_ptr<QueueHandler> start_queue(uint32_t queue_index,
                                                      uint32_t slot_count) = 0;
};

}  // namespace vfs::host
