// How an app gets its virtio-fs devices: the platform finds every device it has, probes
// it with FsDevice and registers it with lib/vfs, so apps only ever say vfs_mount(tag).
// The unikernel scans PCI (attach_pci.cpp); the hosted build connects to vhost-user
// sockets named on its command line (guest/hosted/attach_vhost_user.cpp).
//
// Options read from argv (key=value): queues=N (request queues to use, at most),
// queue_size=N, slots=N, timeout_ms=N (per request), rekick_ms=N (kick a silent device
// again after N ms; 0 never), completion=poll|irq (spin on the used rings, or sleep until
// the device's interrupt: MSI-X in the unikernel, the call eventfd hosted; polls when the
// device cannot). Returns the number of devices registered, or a negative errno.
#pragma once

namespace vfs::guest::apps {

int attach_virtio_fs(int argc, char** argv);

}  // namespace vfs::guest::apps

namespace vfs::guest::apps {

// The same for virtio-9p devices (attach_pci_9p.cpp; none in the hosted build). Options:
// timeout_ms=N, rekick_ms=N as above.
int attach_virtio_9p(int argc, char** argv);

}  // namespace vfs::guest::apps
