// The hosted attach_virtio_fs (see apps/common/attach.h): one device per
// fs=TAG@SOCKET argument, each a HostedTransport to that vhost-user-fs socket.
// queues=N sets the request queues each device gets (the hosted "VMM" decides, as
// QEMU's num-request-queues does); shmem=0 declines a DAX window the daemon offers.
#include <string.h>

#include <memory>
#include <string>

#include "apps/common/args.h"
#include "apps/common/attach.h"
#include "hosted_transport.h"
#include "kernel/console.h"
#include "lib/vfs/device_registry.h"

namespace vfs::guest::apps {

int attach_virtio_fs(int argc, char** argv) {
    int found = 0;
    for (int i = 0; i < argc; ++i) {
        if (strncmp(argv[i], "fs=", 3) != 0) continue;
        const char* spec = argv[i] + 3;
        const char* at = strchr(spec, '@');
        if (!at) {
            kprintf("attach: %s: expected fs=TAG@SOCKET\n", argv[i]);
            continue;
        }
        hosted::HostedOptions o;
        o.tag.assign(spec, static_cast<size_t>(at - spec));
        o.socket = at + 1;
        o.request_queues = static_cast<uint32_t>(arg_u64(argc, argv, "queues", 1));
        o.queue_size = static_cast<uint32_t>(arg_u64(argc, argv, "queue_size", 128));
        o.shmem = arg_u64(argc, argv, "shmem", 1) != 0;
        auto t = hosted::HostedTransport::connect(o);
        if (!t) {
            kprintf("attach: %s: connect failed (errno %d)\n", o.socket.c_str(), t.error());
            continue;
        }
        virtio_fs::DeviceOptions d;
        d.queue_size = static_cast<uint16_t>(o.queue_size);
        d.slots = static_cast<uint32_t>(arg_u64(argc, argv, "slots", 32));
        d.timeout_ns = arg_u64(argc, argv, "timeout_ms", d.timeout_ns / 1000000) * 1000000;
        d.rekick_after_ns = arg_u64(argc, argv, "rekick_ms", d.rekick_after_ns / 1000000) * 1000000;
        if (!completion_option(argc, argv, &d.interrupts)) return -EINVAL;
        // Kept for the life of the program, like a PCI device.
        auto* dev = new virtio_fs::FsDevice;
        hosted::HostedTransport* transport = t->release();
        if (auto s = dev->probe(*transport, transport->dma(), d); !s) {
            kprintf("attach: %s: probe failed (errno %d)\n", o.socket.c_str(), s.error());
            continue;
        }
        if (auto s = vfslib::register_device(dev); !s) {
            kprintf("attach: tag \"%s\" not registered (errno %d)\n", dev->tag(), s.error());
            continue;
        }
        kprintf("virtio-fs %s: tag \"%s\", %u of %u request queues in use\n", o.socket.c_str(),
                dev->tag(), dev->num_request_queues(), dev->device_request_queues());
        kprintf("virtio-fs %s: completion by %s\n", o.socket.c_str(),
                dev->interrupt_driven() ? "call eventfd" : "polling");
        ++found;
    }
    return found;
}

}  // namespace vfs::guest::apps
