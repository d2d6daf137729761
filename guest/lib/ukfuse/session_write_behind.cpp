// ukfuse write-behind: the session's buffer and where it is flushed (see write_behind.h).
#include <linux/errno.h>

#include "lib/ukfuse/session.h"

namespace vfs::guest::ukfuse {

wire::Result<uint64_t> Session::WriteBehindWrites::sink_write(uint64_t nodeid, uint64_t fh,
                                                              uint64_t off, const void* buf,
                                                              uint64_t len) {
    // The device only reads this buffer.
    return s_->rw(true, nodeid, fh, off, const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)),
                  len);
}

Status Session::enable_write_behind() {
    if (!dev_ || wb_.on()) return wire::Error{EINVAL};
    constexpr uint32_t kMaxBuffer = 1u << 20;
    const uint32_t cap = info_.max_write < kMaxBuffer ? info_.max_write : kMaxBuffer;
    auto* buf = static_cast<uint8_t*>(dev_->dma().allocate_zeroed(cap, 4096));
    if (!buf) return wire::Error{ENOMEM};
    wb_.init(buf, cap);
    return {};
}

Status Session::flush_write_behind() {
    if (!wb_.pending()) return {};
    const uint64_t nodeid = wb_.pending_node();
    Status s = wb_.flush(wb_writes_);
    // Bytes were lost: the size we noted for them is not the file's.
    if (!s) drop_attr(nodeid);
    return s;
}

Status Session::before_window(uint64_t nodeid, uint64_t fh, uint64_t off, bool write) {
    if (!wb_.on()) return {};
    if (wb_.pending_for(nodeid) && !(write && wb_.continues(nodeid, fh, off)))
        (void)flush_write_behind();
    return write ? wb_.take_error(nodeid, fh) : Status{};
}

void Session::write_behind_seek(uint64_t nodeid) {
    if (wb_.pending_for(nodeid)) (void)flush_write_behind();
}

Status Session::write_behind_sync(uint64_t nodeid, uint64_t fh) {
    if (!wb_.on()) return {};
    if (wb_.pending_for(nodeid)) (void)flush_write_behind();
    return wb_.take_error(nodeid, fh);
}

}  // namespace vfs::guest::ukfuse
