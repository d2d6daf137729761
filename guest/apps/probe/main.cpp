// Placeholder probe: boots and passes. Replaced by the PCI/virtio-fs probe.
#include "kernel/app.h"
#include "kernel/console.h"

int vfs::guest::app_main(int, char**) {
    kprintf("hello from probe\n");
    return 0;
}
