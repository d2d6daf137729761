// The small interface between a virtio device driver (virtio_fs) and whatever carries
// it: modern virtio-PCI in the unikernel (virtio_pci_modern.h), or tools/frontend in a
// hosted build. It follows the driver-initialisation steps of virtio 1.x, 3.1.1:
// negotiate_features() covers reset through FEATURES_OK; then the driver reads its
// configuration, sets up queues, and calls driver_ok(). Any failure should be followed
// by set_failed().
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::virtio {

// Where a queue's three parts live, as addresses the device uses.
struct QueueAddresses {
    uint64_t desc = 0;
    uint64_t driver = 0;  // the available ring
    uint64_t device = 0;  // the used ring
};

// A device shared-memory region (virtio 1.2, 2.10), e.g. the virtio-fs DAX window.
struct SharedMemoryRegion {
    uint64_t phys = 0;     // address of the region's start
    uintptr_t mapped = 0;  // where the driver reads and writes it
    uint64_t length = 0;
};

class Transport {
  public:
    // Reset, ACKNOWLEDGE, DRIVER, feature negotiation, FEATURES_OK and its re-check.
    // Accepts (device features) & (wanted | VERSION_1); fails if VERSION_1 is missing.
    // Returns the accepted set.
    virtual wire::Result<uint64_t> negotiate_features(uint64_t wanted) = 0;

    // Copies `len` bytes of device-specific configuration from `offset`, consistently
    // (re-read while the device changes it underneath).
    virtual wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) = 0;

    virtual uint16_t num_queues() = 0;

    // The size the queue will have: min(device maximum, requested), rounded down to a
    // power of two. ENOENT if the queue does not exist.
    virtual wire::Result<uint16_t> queue_size(uint16_t index, uint16_t requested) = 0;

    // Programs and enables queue `index` with `size` entries at `addrs`.
    virtual wire::Status enable_queue(uint16_t index, uint16_t size,
                                      const QueueAddresses& addrs) = 0;

    // Tells the device queue `index` has new buffers.
    virtual void notify(uint16_t index) = 0;

    virtual wire::Status driver_ok() = 0;
    virtual void set_failed() = 0;
    virtual void reset() = 0;

    // Shared-memory region `id`; ENOENT if the device has none with that id.
    virtual wire::Result<SharedMemoryRegion> shared_memory(uint8_t id) = 0;

    // Completion by interrupt, optional (a transport without it answers EOPNOTSUPP and the
    // driver polls). Called after negotiate_features, before any enable_queue: every
    // queue enabled afterwards signals its used buffers. Failures are logged.
    virtual wire::Status use_interrupts() { return wire::Error{EOPNOTSUPP}; }
    // Whether every queue enabled since use_interrupts() got its interrupt (a device may
    // refuse one); false means poll.
    virtual bool interrupts_active() { return false; }
    // Sleeps until the device signals or about max_ns pass. The caller re-armed and
    // re-checked every queue first: a signal sent since then ends the sleep at once.
    virtual void wait_for_interrupt(uint64_t max_ns) { (void)max_ns; }

  protected:
    ~Transport() = default;
};

// Memory the device reads and writes (rings, request buffers): allocation and the
// address the device must be given for a pointer. Identity in the unikernel.
class DmaMemory {
  public:
    virtual void* allocate_zeroed(size_t size, size_t align) = 0;
    virtual void release(void* p) = 0;
    virtual uint64_t device_address(const void* p) = 0;
    // Whether the device can reach [p, p+len) at device_address(p). Everything can in the
    // unikernel (identity-mapped RAM); a hosted build only shares part of its memory.
    virtual bool can_reach(const void* p, size_t len) {
        (void)p;
        (void)len;
        return true;
    }

  protected:
    ~DmaMemory() = default;
};

}  // namespace vfs::guest::virtio
