// Write-behind for sequential writes (mount option write_behind): the guest keeps a run
// of contiguous writes to one open file in a bounded buffer and sends it as one FUSE
// WRITE (at most max_write bytes) when the buffer fills, or before anything else reaches
// the server or the DAX window for that file (Session says where: every request, a stat,
// a window access, fsync, close, seek, a write elsewhere). The contract of a page cache
// whose writeback to the host waits for one of those: the guest sees its own writes at
// once; the host sees them only after the flush. A flush that fails loses the bytes it
// could not write, and its error is kept for the handle that wrote them and reported by
// that handle's next write, fsync or close (once), as Linux reports writeback errors.
//
// Policy and buffer only; the FUSE WRITEs go through a WriteBehindSink (the session; a
// stub in tests). Single-threaded, no allocation: the caller hands in the buffer.
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::ukfuse {

class WriteBehindSink {
  public:
    // FUSE WRITE of [off, off + len): the count written (possibly short) or an error.
    virtual wire::Result<uint64_t> sink_write(uint64_t nodeid, uint64_t fh, uint64_t off,
                                              const void* buf, uint64_t len) = 0;

  protected:
    ~WriteBehindSink() = default;
};

struct WriteBehindStats {
    uint64_t writes_taken = 0;  // calls answered from the buffer
    uint64_t flushes = 0;       // runs sent
    uint64_t bytes_flushed = 0;
    uint64_t errors = 0;  // runs that failed (some bytes lost, error kept)
};

class WriteBehind {
  public:
    // buf: cap bytes the device can read. cap 0 (or no buf) keeps it off.
    void init(uint8_t* buf, uint32_t cap);
    bool on() const { return buf_ != nullptr; }
    uint32_t capacity() const { return cap_; }
    bool pending() const { return len_ != 0; }
    bool pending_for(uint64_t nodeid) const { return len_ != 0 && nodeid_ == nodeid; }
    uint64_t pending_node() const { return nodeid_; }
    // Whether a write at off to (nodeid, fh) continues the pending run.
    bool continues(uint64_t nodeid, uint64_t fh, uint64_t off) const {
        return len_ != 0 && nodeid_ == nodeid && fh_ == fh && off == start_ + len_;
    }
    // Whether the buffer may take this write: smaller than the buffer, continuing the
    // pending run or, with nothing pending, the last write to the same handle (a
    // sequential writer: a random one is never buffered), and no error kept for another
    // handle (one is kept at a time). Whether it fits without a flush first is fits().
    bool can_take(uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len) const;
    bool fits(uint64_t len) const { return len <= cap_ - len_; }
    bool full() const { return len_ == cap_; }
    // A write sent past the buffer ended at `end`: the next one may start a run there.
    void note_write(uint64_t nodeid, uint64_t fh, uint64_t end) {
        last_node_ = nodeid;
        last_fh_ = fh;
        last_end_ = end;
    }
    // Copies the write in; the caller checked can_take() and fits().
    void take(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf, uint64_t len);
    // Sends the pending run (nothing pending: nothing to do). On failure the bytes not
    // written are dropped and the error is kept for their handle (and returned).
    wire::Status flush(WriteBehindSink& sink);
    // The error kept for (nodeid, fh), handed out once.
    wire::Status take_error(uint64_t nodeid, uint64_t fh);
    bool error_kept() const { return err_ != 0; }
    const WriteBehindStats& stats() const { return stats_; }

  private:
    uint8_t* buf_ = nullptr;
    uint32_t cap_ = 0;
    uint64_t nodeid_ = 0, fh_ = 0, start_ = 0;
    uint64_t len_ = 0;
    uint64_t last_node_ = 0, last_fh_ = 0, last_end_ = UINT64_MAX;
    int err_ = 0;
    uint64_t err_node_ = 0, err_fh_ = 0;
    WriteBehindStats stats_;
};

}  // namespace vfs::guest::ukfuse
