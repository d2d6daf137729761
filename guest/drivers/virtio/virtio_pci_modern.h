// The modern (virtio 1.x) PCI transport: finds the device's structures from its vendor
// capabilities, maps them (uncached; shared memory write-back), and implements the
// Transport steps on the common configuration structure. Runs over the ConfigSpace and
// Mmio seams, so the whole handshake is unit-tested on the host against simulated BARs.
#pragma once

#include <stdint.h>

#include "drivers/pci/config_space.h"
#include "drivers/pci/device.h"
#include "drivers/pci/mmio.h"
#include "drivers/pci/msix.h"
#include "drivers/virtio/interrupt_platform.h"
#include "drivers/virtio/transport.h"
#include "drivers/virtio/virtio_pci_caps.h"

namespace vfs::guest::virtio {

class VirtioPciModern final : public Transport {
  public:
    static constexpr uint16_t kMaxQueues = 64;

    // `irq`: where completion interrupts go (null: the transport only polls).
    VirtioPciModern(pci::ConfigSpace& cfg, pci::Mmio& mmio, InterruptPlatform* irq = nullptr)
        : cfg_(cfg), mmio_(mmio), irq_(irq), msix_(cfg, mmio) {}

    // Parses capabilities, enables memory decoding and bus mastering, maps the regions.
    wire::Status attach(const pci::Device& dev);

    wire::Result<uint64_t> negotiate_features(uint64_t wanted) override;
    wire::Status read_device_config(uint32_t offset, void* out, uint32_t len) override;
    uint16_t num_queues() override;
    wire::Result<uint16_t> queue_size(uint16_t index, uint16_t requested) override;
    wire::Status enable_queue(uint16_t index, uint16_t size, const QueueAddresses& addrs) override;
    void notify(uint16_t index) override;
    wire::Status driver_ok() override;
    void set_failed() override;
    void reset() override;
    wire::Result<SharedMemoryRegion> shared_memory(uint8_t id) override;
    // MSI-X: table entry 0 carries the configuration and every queue (QEMU 11.1's
    // vhost-user-test-device-pci has one vector; the driver reaps every queue whatever
    // woke it, so more vectors would buy nothing).
    wire::Status use_interrupts() override;
    bool interrupts_active() override { return irq_on_; }
    void wait_for_interrupt(uint64_t max_ns) override;

    uint8_t status();
    uint8_t read_isr();
    const VirtioPciLayout& layout() const { return layout_; }
    uintptr_t notify_address(uint16_t index) const { return notify_addr_[index]; }

  private:
    wire::Result<uintptr_t> map_region(const BarRegion& r, pci::MapCaching caching);
    void add_status(uint8_t bits);
    void copy_device_config(uint32_t offset, uint8_t* dst, uint32_t len);
    void log_error(const char* what, int err);

    pci::ConfigSpace& cfg_;
    pci::Mmio& mmio_;
    pci::Device dev_;
    VirtioPciLayout layout_;
    uintptr_t common_ = 0, notify_ = 0, isr_ = 0, device_ = 0;
    uintptr_t notify_addr_[kMaxQueues] = {};
    bool attached_ = false;
    InterruptPlatform* irq_ = nullptr;
    pci::MsixTable msix_;
    bool irq_on_ = false;
};

}  // namespace vfs::guest::virtio
