// probe: the e2e check of the unikernel base. Lists PCI devices, finds the virtio-fs
// device (1af4:105a), reads its tag and num_request_queues, negotiates features, sets up
// the hiprio queue and every request queue, reaches DRIVER_OK and reports pass/fail on
// serial and through the exit status.
//
// Command line (`-append`), all optional:
//   expect_tag=NAME          fail unless the device's tag is NAME
//   expect_request_queues=N  fail unless num_request_queues is N
//   queue_size=N             requested queue size (default 256; the device may cap it)
//   fuse_init=0              skip the FUSE_INIT round trip after DRIVER_OK
//   fault=page|panic         deliberately crash, to test the exception and panic paths
#include <linux/virtio_config.h>
#include <linux/virtio_fs.h>

#include "apps/probe/fuse_init_smoke.h"
#include "arch/x86_64/clock.h"
#include "drivers/pci/enumerate.h"
#include "drivers/pci/identity_mmio.h"
#include "drivers/pci/port_config_space.h"
#include "drivers/virtio/heap_dma.h"
#include "drivers/virtio/virtio_pci_modern.h"
#include "drivers/virtio/virtqueue.h"  // also <linux/virtio_ring.h>, without its C-only helpers
#include "kernel/app.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/panic.h"

extern "C" char __image_start[], __image_end[];

namespace vfs::guest {
namespace {

constexpr uint16_t kVirtioVendor = 0x1af4;
constexpr uint16_t kVirtioFsDevice = 0x1040 + 26;  // modern id = 0x1040 + VIRTIO_ID_FS

const char* bar_kind(const pci::Bar& b) {
    switch (b.kind) {
        case pci::BarKind::kIo:
            return "io";
        case pci::BarKind::kMem32:
            return "mem32";
        case pci::BarKind::kMem64:
            return "mem64";
        default:
            return "-";
    }
}

void list_devices(const pci::DeviceList& list) {
    for (size_t i = 0; i < list.count; ++i) {
        const pci::Device& d = list.devices[i];
        kprintf("pci %02x:%02x.%x %04x:%04x class %02x.%02x.%02x%s\n", d.bdf.bus, d.bdf.dev,
                d.bdf.fn, d.vendor_id, d.device_id, d.class_code, d.subclass, d.prog_if,
                d.header_type == 1 ? " bridge" : "");
        for (int b = 0; b < pci::kMaxBars; ++b) {
            const pci::Bar& bar = d.bars[b];
            if (bar.kind == pci::BarKind::kNone) continue;
            kprintf("    bar%d %s%s %#lx size %#lx\n", b, bar_kind(bar),
                    bar.prefetchable ? " pf" : "", bar.base, bar.size);
        }
    }
    if (list.truncated) kprintf("pci: more devices than fit the list\n");
}

unsigned long parse_ulong(const char* s, unsigned long fallback) {
    if (!s || !*s) return fallback;
    unsigned long v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return fallback;
        v = v * 10 + static_cast<unsigned long>(*s - '0');
    }
    return v;
}

bool equal(const char* a, const char* b) {
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

void maybe_fault(const char* kind) {
    if (!kind) return;
    if (equal(kind, "panic")) panic("deliberate panic from the command line");
    if (equal(kind, "page")) {
        // 512 GiB: far above anything mapped.
        volatile uint64_t* p = reinterpret_cast<volatile uint64_t*>(0x8000000000ull);
        kprintf("reading %p\n", const_cast<uint64_t*>(p));
        (void)*p;
    }
}

int fail(const char* why) {
    kprintf("FAIL: %s\n", why);
    return 1;
}

}  // namespace

int app_main(int argc, char** argv) {
    maybe_fault(find_arg(argc, argv, "fault"));
    const char* expect_tag = find_arg(argc, argv, "expect_tag");
    const char* expect_queues = find_arg(argc, argv, "expect_request_queues");
    const auto requested =
        static_cast<uint16_t>(parse_ulong(find_arg(argc, argv, "queue_size"), 256));

    pci::PortConfigSpace cfg;
    static pci::DeviceList list;
    pci::enumerate(cfg, list);
    list_devices(list);

    const pci::Device* fs = nullptr;
    for (size_t i = 0; i < list.count && !fs; ++i) {
        const pci::Device& d = list.devices[i];
        if (d.vendor_id == kVirtioVendor && d.device_id == kVirtioFsDevice) fs = &d;
    }
    if (!fs) return fail("no virtio-fs device (1af4:105a)");
    kprintf("virtio-fs at %02x:%02x.%x\n", fs->bdf.bus, fs->bdf.dev, fs->bdf.fn);

    static pci::IdentityMmio mmio;
    static virtio::VirtioPciModern transport(cfg, mmio);
    if (!transport.attach(*fs)) return fail("virtio-pci attach");
    const virtio::VirtioPciLayout& l = transport.layout();
    kprintf(
        "virtio-pci: common bar%u+%#lx notify bar%u+%#lx (x%u) isr bar%u+%#lx device bar%u+%#lx, "
        "%d shm region(s)\n",
        l.common.bar, l.common.offset, l.notify.bar, l.notify.offset, l.notify_off_multiplier,
        l.isr.bar, l.isr.offset, l.device.bar, l.device.offset, l.shm_count);

    const uint64_t wanted = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX);
    auto features = transport.negotiate_features(wanted);
    if (!features) return fail("feature negotiation");
    const bool event_idx = (*features >> VIRTIO_RING_F_EVENT_IDX) & 1;
    kprintf("virtio-pci: features accepted %#lx (EVENT_IDX %s)\n", *features,
            event_idx ? "on" : "off");

    virtio_fs_config fs_cfg{};
    if (!transport.read_device_config(0, &fs_cfg, sizeof(fs_cfg))) {
        transport.set_failed();
        return fail("reading virtio-fs configuration");
    }
    char tag[sizeof(fs_cfg.tag) + 1] = {};
    __builtin_memcpy(tag, fs_cfg.tag, sizeof(fs_cfg.tag));
    const uint32_t request_queues = fs_cfg.num_request_queues;
    const uint16_t total_queues = transport.num_queues();
    kprintf("virtio-fs: tag \"%s\", num_request_queues %u, device queues %u\n", tag, request_queues,
            total_queues);
    if (request_queues == 0 || request_queues + 1 > total_queues ||
        request_queues + 1 > virtio::VirtioPciModern::kMaxQueues) {
        transport.set_failed();
        return fail("num_request_queues does not match the device's queues");
    }

    static virtio::HeapDma dma;
    auto* queues = new virtio::Virtqueue[request_queues + 1];
    for (uint16_t q = 0; q <= request_queues; ++q) {
        wire::Status s = queues[q].init(transport, dma, q, requested, event_idx);
        if (!s) {
            transport.set_failed();
            kprintf("queue %u: setup failed (errno %d)\n", q, s.error());
            return fail("queue setup");
        }
        kprintf("queue %u (%s): size %u desc %#lx notify %#lx\n", q, q == 0 ? "hiprio" : "request",
                queues[q].size(), queues[q].addresses().desc, transport.notify_address(q));
    }
    if (!transport.driver_ok()) return fail("DRIVER_OK");
    const uint64_t ready_ns = clock::now_ns();
    kprintf("virtio-fs: DRIVER_OK (status %#x) %lu us after boot\n", transport.status(),
            static_cast<unsigned long>(ready_ns / 1000));
    kprintf(
        "BENCH {\"name\":\"guest_boot_to_driver_ok\",\"ns\":%lu,\"image_bytes\":%lu,"
        "\"request_queues\":%u}\n",
        static_cast<unsigned long>(ready_ns),
        static_cast<unsigned long>(__image_end - __image_start), request_queues);

    // DRIVER_OK alone does not show the daemon accepted the queues: one round trip does.
    const char* smoke = find_arg(argc, argv, "fuse_init");
    if (!smoke || !equal(smoke, "0")) {
        auto init = fuse_init_roundtrip(queues[1], dma, 5000);
        if (!init) {
            kprintf("FUSE_INIT on queue 1: errno %d\n", init.error());
            return fail("no FUSE_INIT reply from the daemon");
        }
        kprintf("FUSE_INIT reply: protocol %u.%u, max_write %u\n", init->major, init->minor,
                init->max_write);
    }

    if (expect_tag && !equal(tag, expect_tag)) return fail("tag differs from expect_tag");
    if (expect_queues && parse_ulong(expect_queues, 0) != request_queues)
        return fail("num_request_queues differs from expect_request_queues");
    return 0;
}

}  // namespace vfs::guest
