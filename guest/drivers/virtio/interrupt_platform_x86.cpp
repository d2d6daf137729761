// The unikernel's InterruptPlatform (see interrupt_platform.h): MSI to this CPU's local
// APIC on the completion vector, sleep in `sti; hlt` bounded by the APIC timer.
#include "drivers/virtio/interrupt_platform_x86.h"

#include "arch/x86_64/interrupts.h"

namespace vfs::guest::virtio {
namespace {

constexpr uint64_t kMsiAddressBase = 0xfee00000;  // Intel SDM 10.11.1
constexpr uint32_t kMsiDestShift = 12;

class X86Interrupts final : public InterruptPlatform {
  public:
    wire::Result<pci::MsiMessage> completion_message() override {
        if (wire::Status s = interrupts::init(); !s) return wire::Error{s.error()};
        const uint32_t id = interrupts::apic_id();
        if (id > 0xff) return wire::Error{ERANGE};  // xAPIC MSI has 8 destination bits
        // Edge-triggered, fixed delivery, physical destination: data is the vector.
        return pci::MsiMessage{kMsiAddressBase | (uint64_t{id} << kMsiDestShift),
                               interrupts::kCompletionVector};
    }
    void sleep(uint64_t max_ns) override { interrupts::sleep(max_ns); }
};

constinit X86Interrupts g_platform;

}  // namespace

InterruptPlatform& x86_interrupt_platform() {
    return g_platform;
}

}  // namespace vfs::guest::virtio
