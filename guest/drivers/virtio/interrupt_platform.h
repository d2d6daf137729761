// What the virtio-PCI transport needs from the CPU side to complete by interrupt: the
// MSI message that raises the completion vector, and a race-free sleep. The unikernel's is
// interrupt_platform_x86.cpp (local APIC, `sti; hlt`); unit tests bring a fake.
#pragma once

#include <stdint.h>

#include "drivers/pci/msix.h"
#include "vfs/wire/result.h"

namespace vfs::guest::virtio {

class InterruptPlatform {
  public:
    // The message a device writes to raise the completion vector on this CPU; an errno
    // (logged) if the platform cannot take device interrupts.
    virtual wire::Result<pci::MsiMessage> completion_message() = 0;
    // Sleeps until any interrupt arrives or about max_ns pass. An interrupt raised since
    // the caller last looked (interrupts are held off outside this call) ends it at once.
    virtual void sleep(uint64_t max_ns) = 0;

  protected:
    ~InterruptPlatform() = default;
};

}  // namespace vfs::guest::virtio
