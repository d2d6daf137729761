#include "queue/init_only_handler.h"

#include <linux/fuse.h>

#include <spdlog/spdlog.h>

#include "vfs/wire/sg.h"

namespace vfs::host {

namespace {

using vfs::wire::SgReader;
using vfs::wire::SgWriter;

// The oldest minor we answer with a full-size fuse_init_out; older kernels get the
// 7.22-sized reply they expect.
constexpr uint32_t kCompat22InitOutSize = 24;

uint32_t reply_error(SgWriter& w, uint64_t unique, int err) {
    fuse_out_header out{};
    out.len = sizeof(out);
    out.error = -err;
    out.unique = unique;
    if (!w.write_obj(out)) return 0;
    return sizeof(out);
}

uint32_t reply_init(SgReader& r, SgWriter& w, const fuse_in_header& in) {
    // Only the first four fields are common to every FUSE minor.
    struct {
        uint32_t major, minor, max_readahead, flags;
    } init_in{};
    if (!r.read_obj(&init_in)) return reply_error(w, in.unique, EINVAL);
    if (init_in.major < 7) return reply_error(w, in.unique, EPROTO);

    fuse_init_out init{};
    init.major = FUSE_KERNEL_VERSION;
    init.minor = FUSE_KERNEL_MINOR_VERSION;
    init.max_readahead = init_in.max_readahead;
    init.flags = 0;  // no optional capabilities: the real server will negotiate them
    init.max_background = 16;
    init.congestion_threshold = 12;
    init.max_write = 1u << 20;
    init.time_gran = 1;
    init.max_pages = 256;
    uint32_t body = sizeof(init);
    if (init_in.major == 7 && init_in.minor < 23) body = kCompat22InitOutSize;
    if (init_in.major > 7) body = 8;  // only major/minor: the kernel retries with ours

    fuse_out_header out{};
    out.len = sizeof(out) + body;
    out.unique = in.unique;
    if (!w.write_obj(out) || !w.write(&init, body)) return 0;
    return out.len;
}

}  // namespace

void InitOnlyHandler::handle(QueueContext& ctx, RequestSlot& slot) {
    const auto& c = slot.chain;
    SgReader r(c.readable(), c.n_readable);
    SgWriter w(c.writable(), c.n_writable);
    fuse_in_header in{};
    if (!r.read_obj(&in)) {
        // Not even a header: nothing to answer to, but the chain must still come back.
        ctx.complete(slot, 0);
        return;
    }
    uint32_t written = 0;
    switch (in.opcode) {
        case FUSE_INIT:
            written = reply_init(r, w, in);
            break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
            break;  // FUSE never replies to these
        default:
            written = reply_error(w, in.unique, ENOSYS);
            break;
    }
    spdlog::trace("queue {}: opcode {} unique {} -> {} bytes", ctx.queue_index(), in.opcode,
                  in.unique, written);
    ctx.complete(slot, written);
}

}  // namespace vfs::host
