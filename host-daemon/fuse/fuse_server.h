// The FUSE server: turns each validated chain into a call on the Filesystem and a reply in
// the chain's writable buffers.
//
// Metadata requests run inline on the queue worker, or, where the queue has a thread pool
// (--thread-pool-size), on a pool thread, so a slow one holds up nothing else. READ, WRITE, FSYNC,
// FSYNCDIR and FALLOCATE ask the Filesystem for access to the open file (data_file(), which a
// wrapper may refuse) and hand it, with the guest buffers, to the worker's I/O engine, which
// decides what runs inline and what on the ring (queue/io_engine.h). Each queue gets its
// own request state, preallocated for all of its slots when the queue starts. With a pool,
// a buffered WRITE the engine would do inline (it blocks where the page cache must wait
// for writeback or a network file system) goes to the pool too.
#pragma once

#include <memory>

#include "fs/filesystem.h"
#include "fs/fs_options.h"
#include "fuse/dax_mappings.h"
#include "fuse/request_counts.h"
#include "fuse/session.h"
#include "queue/io_engine.h"
#include "queue/request_handler.h"
#include "vfs/wire/fuse_reply.h"
#include "vfs/wire/fuse_request.h"

namespace vfs::host {

class FuseServer final : public RequestHandler {
  public:
    // dax: the DAX mapping table when the daemon has a window (--dax-window), else null.
    FuseServer(Filesystem& fs, const FsOptions& opts, DaxMappings* dax = nullptr);

    std::unique_ptr<QueueHandler> start_queue(uint32_t queue_index, uint32_t slot_count) override;

    const Session& session() const { return session_; }
    // Migration restores a session without INIT (migration/state_load.h).
    Session& session() { return session_; }

  private:
    class Queue;

    // One request in flight: the parsed request, and what its reply needs once the I/O
    // engine is done.
    struct RequestState {
        vfs::wire::ParsedRequest req;
        vfs::wire::SgWriter writer;
        vfs::wire::PendingReply pending;
        // An offloaded request: what the pool thread continues from.
        vfs::wire::SgReader reader;  // past the parsed arguments
        DataFile file;               // a WRITE's grant, with its iovecs and offset
        const iovec* iov = nullptr;
        uint32_t iov_count = 0;
        uint64_t offset = 0;
    };

    void handle(QueueContext& ctx, RequestSlot& slot, RequestState& st, RequestCounts& counts);
    // On a pool thread: an offloaded request's reply length.
    uint32_t run_offloaded(RequestSlot& slot, RequestState& st);
    // Each returns the reply length for the used ring (0: no reply). ctx is null on a pool
    // thread, where only requests that need no queue come (runs_on_pool()).
    uint32_t dispatch(QueueContext* ctx, RequestSlot& slot, RequestState& st,
                      vfs::wire::SgReader& r, vfs::wire::SgWriter& w, bool* async);
    uint32_t dispatch_op(QueueContext* ctx, RequestSlot& slot, RequestState& st,
                         vfs::wire::SgReader& r, vfs::wire::SgWriter& w, bool* async);
    uint32_t do_init(RequestState& st, vfs::wire::SgWriter& w);
    uint32_t do_readdir(RequestState& st, vfs::wire::SgWriter& w, bool plus);
    uint32_t do_getxattr(RequestState& st, vfs::wire::SgWriter& w, bool list);
    uint32_t do_batch_forget(RequestState& st, vfs::wire::SgReader& r);
    // --security-label (security_label.cpp): the label of a CREATE, MKDIR, MKNOD or
    // SYMLINK from its extensions into *label, and rc->label set to it; EINVAL if malformed.
    vfs::wire::Status take_security_label(const vfs::wire::ParsedRequest& req,
                                          vfs::wire::SgReader& r, SecurityLabel* label,
                                          RequestContext* rc) const;
    // DAX (dax_requests.cpp).
    void dax_on_init(const fuse_init_in& in, NegotiatedInit& n);
    uint32_t do_setupmapping(RequestState& st, vfs::wire::SgWriter& w);
    uint32_t do_removemapping(RequestState& st, vfs::wire::SgReader& r, vfs::wire::SgWriter& w);
    // Around every request with a mapping table: before it, the guest's stores to tail
    // pages reach the file; before its reply, what the reply lets the guest reach is mapped.
    void dax_before(const fuse_in_header& h);
    void dax_after(const fuse_in_header& h);
    uint32_t start_read(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                        vfs::wire::SgWriter& w, bool* async);
    uint32_t start_write(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                         vfs::wire::SgReader& r, vfs::wire::SgWriter& w, bool* async);
    uint32_t start_fsync(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                         vfs::wire::SgWriter& w, bool* async);
    uint32_t start_fallocate(QueueContext& ctx, RequestSlot& slot, RequestState& st,
                             vfs::wire::SgWriter& w, bool* async);
    // The reply now if the engine finished at once; none yet (async) if it queued the
    // operation.
    uint32_t started(IoOutcome o, RequestState& st, uint32_t cookie, bool* async);
    uint32_t finish_io(RequestState& st, uint32_t cookie, int32_t result);

    Filesystem& fs_;
    FsOptions opts_;
    Session session_;
    DaxMappings* dax_ = nullptr;
};

}  // namespace vfs::host
