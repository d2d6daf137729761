// The FUSE server: turns each validated chain into a call on the Filesystem and a reply in
// the chain's writable buffers.
//
// Metadata requests run inline on the queue worker. READ and WRITE move data straight
// between the file and the guest's buffers (iovecs that point into guest memory: no
// bounce buffer). A READ first takes what the page cache holds without waiting
// (RWF_NOWAIT); only a read that would wait for the disk goes through the worker's
// io_uring. Small buffered WRITEs are copied inline, since io_uring would hand each to a
// kernel worker thread; large ones, O_DIRECT I/O, FSYNC and FALLOCATE go through the ring,
// so a worker never waits on a device while other requests queue. Per-request state lives
// in preallocated per-queue slots; nothing is allocated per request on the data path.
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

#include "fs/filesystem.h"
#include "fs/fs_options.h"
#include "fuse/session.h"
#include "queue/request_handler.h"
#include "vfs/wire/fuse_reply.h"
#include "vfs/wire/fuse_request.h"

namespace vfs::host {

class FuseServer final : public RequestHandler {
  public:
    FuseServer(Filesystem& fs, const FsOptions& opts);
    ~FuseServer() override;

    void handle(QueueContext& ctx, RequestSlot& slot) override;
    void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                        int32_t result) override;

    const Session& session() const { return session_; }

    // The most queues one device may have (hiprio + request queues).
    static constexpr uint32_t kMaxQueues = 1024;

    // Per in-flight request: the parsed request and what an async I/O needs.
    struct SlotState {
        vfs::wire::ParsedRequest req;
        vfs::wire::SgWriter writer;
        vfs::wire::PendingReply pending;
        std::shared_ptr<void> keep;  // keeps the open file alive during I/O
        uint32_t write_size = 0;
        uint64_t fh = 0;              // the WRITE's file, for suid/sgid clearing
        bool kill_suid_sgid = false;  // after the WRITE succeeds
        std::array<vfs::wire::Segment, kMaxChainSegments> segs;
        std::array<iovec, kMaxChainSegments> iov;
    };

  private:
    struct QueueState;
    SlotState& slot_state(QueueContext& ctx, RequestSlot& slot);

    // Each returns the reply length for the used ring (0: no reply).
    uint32_t dispatch(QueueContext& ctx, RequestSlot& slot, SlotState& st, vfs::wire::SgReader& r,
                      vfs::wire::SgWriter& w, bool* async);
    uint32_t do_init(SlotState& st, vfs::wire::SgWriter& w);
    uint32_t do_readdir(SlotState& st, vfs::wire::SgWriter& w, bool plus);
    uint32_t do_getxattr(SlotState& st, vfs::wire::SgWriter& w, bool list);
    uint32_t do_batch_forget(SlotState& st, vfs::wire::SgReader& r);
    uint32_t start_read(QueueContext& ctx, RequestSlot& slot, SlotState& st, vfs::wire::SgWriter& w,
                        bool* async);
    uint32_t start_write(QueueContext& ctx, RequestSlot& slot, SlotState& st,
                         vfs::wire::SgReader& r, vfs::wire::SgWriter& w, bool* async);
    uint32_t start_fsync(QueueContext& ctx, RequestSlot& slot, SlotState& st,
                         vfs::wire::SgWriter& w, bool* async, bool dir);
    uint32_t start_fallocate(QueueContext& ctx, RequestSlot& slot, SlotState& st,
                             vfs::wire::SgWriter& w, bool* async);
    uint32_t finish_io(SlotState& st, uint32_t cookie, int32_t result);

    Filesystem& fs_;
    FsOptions opts_;
    Session session_;
    std::array<std::atomic<QueueState*>, kMaxQueues> queues_{};
    std::mutex queues_mu_;  // only for creating or resizing a queue's slot states
};

}  // namespace vfs::host
