// Every wire header, for the freestanding build check.
#pragma once

#include "vfs/wire/checked.h"
#include "vfs/wire/result.h"
#include "vfs/wire/sg.h"
#include "vfs/wire/virtqueue_device.h"
#include "vfs/wire/virtqueue_driver.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::wire {

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
}

}  // namespace vfs::wire
