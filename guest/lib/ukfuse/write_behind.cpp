// Write-behind buffer for sequential writes (see write_behind.h).
#include "lib/ukfuse/write_behind.h"

#include <linux/errno.h>

namespace vfs::guest::ukfuse {

void WriteBehind::init(uint8_t* buf, uint32_t cap) {
    buf_ = cap ? buf : nullptr;
    cap_ = buf_ ? cap : 0;
    len_ = 0;
}

bool WriteBehind::can_take(uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len) const {
    if (!on() || len == 0 || len >= cap_) return false;  // a write that big gains nothing
    if (err_ != 0 && (err_node_ != nodeid || err_fh_ != fh)) return false;
    if (len_ != 0 && !continues(nodeid, fh, off)) return false;
    if (len_ == 0 && (last_node_ != nodeid || last_fh_ != fh || last_end_ != off)) return false;
    uint64_t end = 0;
    return !__builtin_add_overflow(off, len, &end);
}

void WriteBehind::take(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf, uint64_t len) {
    if (len_ == 0) {
        nodeid_ = nodeid;
        fh_ = fh;
        start_ = off;
    }
    __builtin_memcpy(buf_ + len_, buf, len);
    len_ += len;
    note_write(nodeid, fh, off + len);
    ++stats_.writes_taken;
}

wire::Status WriteBehind::flush(WriteBehindSink& sink) {
    if (len_ == 0) return {};
    // Nothing is pending while the run is out: a request the sink sends must not flush it
    // again.
    const uint64_t n = len_;
    len_ = 0;
    uint64_t done = 0;
    int err = 0;
    while (done < n) {
        auto r = sink.sink_write(nodeid_, fh_, start_ + done, buf_ + done, n - done);
        if (!r) {
            err = static_cast<int>(r.error());
            break;
        }
        if (*r == 0 || *r > n - done) {
            err = *r == 0 ? EIO : EPROTO;  // no progress, or more than it was given
            break;
        }
        done += *r;
    }
    ++stats_.flushes;
    stats_.bytes_flushed += done;
    if (err == 0) return {};
    ++stats_.errors;
    if (err_ == 0) {  // can_take() keeps a second handle's run out while one is kept
        err_ = err;
        err_node_ = nodeid_;
        err_fh_ = fh_;
    }
    return wire::Error{err};
}

wire::Status WriteBehind::take_error(uint64_t nodeid, uint64_t fh) {
    if (err_ == 0 || err_node_ != nodeid || err_fh_ != fh) return {};
    const int e = err_;
    err_ = 0;
    return wire::Error{e};
}

}  // namespace vfs::guest::ukfuse
