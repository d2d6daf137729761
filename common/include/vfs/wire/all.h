// Every wire header, for the freestanding build check.
#pragma once

#include "vfs/wire/checked.h"
#include "vfs/wire/fuse_client.h"
#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/fuse_reply.h"
#include "vfs/wire/fuse_request.h"
#include "vfs/wire/fuse_secctx.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"
#include "vfs/wire/virtio_features.h"
#include "vfs/wire/virtqueue_device.h"
#include "vfs/wire/virtqueue_driver.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::wire {

// The FUSE codec, both sides: build a LOOKUP, parse it, reply, decode the reply.
inline void fuse_codec_selfcheck() {
    uint8_t buf[16] = {};
    Segment seg{buf, sizeof(buf)};

    static uint8_t req_buf[kRequestBufMax];
    static uint8_t head[kReplyHeadMax];
    static ParsedRequest parsed;
    ClientRequest rq;
    rq.opcode = FUSE_LOOKUP;
    rq.unique = 1;
    rq.names[0] = NameView{"a", 1};
    Segment segs[4];
    const Proto proto = Proto::current();
    auto n = build_request(rq, proto, req_buf, sizeof(req_buf), segs, 4);
    if (n.ok()) {
        SgReader in(segs, *n);
        (void)parse_request(in, proto, &parsed);
        (void)parsed.arg<fuse_write_in>();
    }
    auto m = build_reply_segments(rq, proto, head, sizeof(head), nullptr, 0, segs, 4);
    if (m.ok()) {
        SgWriter out(segs, *m);
        fuse_entry_out e{};
        (void)reply_entry(out, rq.unique, proto.minor, e);
        fuse_entry_out got{};
        (void)decode_reply(rq, proto, head, 0, out.written(), &got, sizeof(got));
    }
    SgWriter out(&seg, 1);
    auto p = reply_begin(out, 2);
    if (p.ok()) {
        DirentPacker pack(out, out.remaining());
        (void)pack.add(1, 1, 4, ".", 1);
        (void)reply_finish(*p, out, pack.bytes());
        (void)reply_abort(*p, EIO);
    }
    DirentReader dr(buf, sizeof(buf), true);
    DirEntry de;
    (void)dr.next(&de);
    (void)reply_error(out, 3, ENOSYS);
}

// Instantiates the templates the guest uses so the freestanding link sees their code.
inline void freestanding_selfcheck() {
    uint8_t buf[16] = {};
    Segment seg{buf, sizeof(buf)};
    SgReader r(&seg, 1);
    uint32_t v = 0;
    (void)r.read_obj(&v);
    SgWriter w(&seg, 1);
    (void)w.write_obj(v);

    alignas(16) static uint8_t ring[3 * 4096];
    static DriverSlot slots[4];
    const SplitRingLayout l = split_ring_layout(4);
    DriverQueue::Rings dr{reinterpret_cast<vring_desc*>(ring + l.desc_offset),
                          reinterpret_cast<vring_avail*>(ring + l.avail_offset),
                          reinterpret_cast<vring_used*>(ring + l.used_offset)};
    DriverQueue drv;
    (void)drv.init(4, dr, slots, true);
    DriverBuffer b{0x1000, 16};
    (void)drv.add(&b, 1, &b, 1, 1);
    drv.publish();
    (void)drv.kick_needed();
    DeviceQueue dev;
    (void)dev.init(4, DeviceQueue::Rings{dr.desc, dr.avail, dr.used}, true, 0);
    DeviceChain c;
    (void)dev.pop([&](uint64_t, uint64_t) { return buf; }, &seg, 1, &c);
    dev.push(c.head, 0);
    (void)dev.flush();
    (void)dev.enable_notifications();
    (void)drv.reclaim();

    fuse_codec_selfcheck();
}

}  // namespace vfs::wire
