// Plays the queue worker for one request at a time: one slot, the worker's real I/O engine,
// completions reaped synchronously on the calling thread. For tests and fuzzers that drive
// the FUSE server without a ring (no gtest in here: fuzzers include it too).
#pragma once

#include <array>
#include <memory>

#include "fuse/fuse_server.h"
#include "queue/io_engine.h"

namespace vfs::testing {

class OneSlotQueue final : public host::QueueContext {
  public:
    OneSlotQueue() {
        auto io = host::IoEngine::create(8, 1);
        if (io) io_ = std::move(*io);
        slot_.index = 0;
        slot_.segs = segs_.data();
    }
    bool ready() const { return io_ != nullptr; }

    uint32_t queue_index() const override { return 1; }
    void complete(host::RequestSlot&, uint32_t written) override {
        done_ = true;
        written_ = written;
    }
    host::IoEngine& io() override { return *io_; }
    void mark_broken(const char*) override { broken = true; }
    bool others_waiting() const override { return false; }  // one slot: nothing else
    bool can_offload() const override { return false; }     // no pool: served inline
    void offload(host::RequestSlot&) override {}
    void wait_offloaded() override {}

    // Serves one chain (readable segments, then writable ones) through `handler`; returns
    // the used length. nr + nw must not exceed kMaxChainSegments.
    uint32_t run(host::QueueHandler& handler, const wire::Segment* readable, uint32_t nr,
                 const wire::Segment* writable, uint32_t nw) {
        uint32_t i = 0;
        for (; i < nr; ++i)
            segs_[i] = readable[i];
        for (uint32_t j = 0; j < nw; ++j)
            segs_[i + j] = writable[j];
        slot_.chain = wire::DeviceChain{};
        slot_.chain.segs = segs_.data();
        slot_.chain.n_readable = nr;
        slot_.chain.n_writable = nw;
        for (uint32_t j = 0; j < nr + nw; ++j)
            (j < nr ? slot_.chain.readable_bytes : slot_.chain.writable_bytes) += segs_[j].len;
        done_ = false;
        handler.handle(*this, slot_);
        while (!done_) {
            if (io_->submit_and_wait(0) != 0) break;
            io_->reap([&](const host::IoCompletion& c) {
                if (c.for_slot) handler.on_io_complete(*this, slot_, c.cookie, c.result);
            });
        }
        return written_;
    }

    bool broken = false;

  private:
    std::unique_ptr<host::IoEngine> io_;
    host::RequestSlot slot_;
    std::array<wire::Segment, host::kMaxChainSegments> segs_{};
    bool done_ = false;
    uint32_t written_ = 0;
};

}  // namespace vfs::testing
