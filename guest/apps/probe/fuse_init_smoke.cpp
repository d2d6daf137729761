// FUSE_INIT over a virtio-fs request queue (see fuse_init_smoke.h).
#include "apps/probe/fuse_init_smoke.h"

#include <linux/fuse.h>

#include "arch/x86_64/clock.h"
#include "arch/x86_64/cpu.h"

namespace vfs::guest {
namespace {

struct Request {
    fuse_in_header in;
    fuse_init_in init;
};
struct Reply {
    fuse_out_header out;
    fuse_init_out init;
};
constexpr uint64_t kUnique = 1;

}  // namespace

wire::Result<FuseInitReply> fuse_init_roundtrip(virtio::Virtqueue& q, virtio::DmaMemory& dma,
                                                uint64_t timeout_ms) {
    auto* req = static_cast<Request*>(dma.allocate_zeroed(sizeof(Request), 64));
    auto* rep = static_cast<Reply*>(dma.allocate_zeroed(sizeof(Reply), 64));
    if (!req || !rep) return wire::Error{ENOMEM};
    req->in.len = sizeof(Request);
    req->in.opcode = FUSE_INIT;
    req->in.unique = kUnique;
    req->init.major = FUSE_KERNEL_VERSION;
    req->init.minor = FUSE_KERNEL_MINOR_VERSION;
    req->init.max_readahead = 128 * 1024;

    const wire::DriverBuffer out{dma.device_address(req), sizeof(Request)};
    const wire::DriverBuffer in{dma.device_address(rep), sizeof(Reply)};
    auto head = q.submit(&out, 1, &in, 1, kUnique);
    if (!head) return wire::Error{head.error()};

    const uint64_t deadline = clock::now_ns() + timeout_ms * 1'000'000;
    auto done = q.poll();
    while (!done && done.error() == EAGAIN && clock::now_ns() < deadline) {
        x86::pause();
        done = q.poll();
    }
    if (!done) return wire::Error{done.error() == EAGAIN ? ETIMEDOUT : done.error()};
    if (done->token != kUnique || done->len < sizeof(fuse_out_header) ||
        rep->out.unique != kUnique || rep->out.len > done->len)
        return wire::Error{EPROTO};
    if (rep->out.error != 0) return wire::Error{-rep->out.error};
    if (rep->out.len < sizeof(fuse_out_header) + 8) return wire::Error{EPROTO};
    return FuseInitReply{rep->init.major, rep->init.minor, rep->init.max_write};
}

}  // namespace vfs::guest
