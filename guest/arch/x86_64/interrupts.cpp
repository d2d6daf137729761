// Local APIC bring-up, the completion and timer vectors, and the sleep (see interrupts.h).
#include "arch/x86_64/interrupts.h"

#include "arch/x86_64/clock.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/io_port.h"
#include "arch/x86_64/paging.h"
#include "kernel/console.h"

extern "C" {
void irq_completion_stub();
void irq_timer_stub();
void irq_spurious_stub();
extern volatile uint64_t irq_completion_count, irq_timer_count;
extern uint64_t lapic_eoi_register;
}

namespace vfs::guest::interrupts {
namespace {

constexpr uint32_t kApicBaseMsr = 0x1b;
constexpr uint64_t kApicGlobalEnable = 1ull << 11, kApicX2Mode = 1ull << 10;
constexpr uint64_t kApicBaseMask = 0x000ffffffffff000ull;
constexpr uint32_t kCpuidApic = 1u << 9;  // CPUID.1:EDX
// xAPIC register offsets (Intel SDM vol. 3, table 10-1).
constexpr uint32_t kRegId = 0x20, kRegEoi = 0xb0, kRegSvr = 0xf0, kRegLvtTimer = 0x320,
                   kRegInitialCount = 0x380, kRegCurrentCount = 0x390, kRegDivide = 0x3e0;
constexpr uint32_t kSvrEnable = 1u << 8, kLvtMasked = 1u << 16, kDivideBy16 = 0x3;
constexpr uint64_t kCalibrationUs = 10000;
constexpr uint16_t kPic1Data = 0x21, kPic2Data = 0xa1;

uint64_t g_apic = 0;  // mapped register page
uint64_t g_ticks_per_ms = 0;
bool g_tried = false;
int g_error = 0;

void write_reg(uint32_t off, uint32_t v) {
    *reinterpret_cast<volatile uint32_t*>(g_apic + off) = v;
}
uint32_t read_reg(uint32_t off) {
    return *reinterpret_cast<volatile uint32_t*>(g_apic + off);
}

int bring_up() {
    if ((x86::cpuid(1).edx & kCpuidApic) == 0) {
        kprintf("interrupts: no local APIC\n");
        return EOPNOTSUPP;
    }
    const uint64_t base = x86::rdmsr(kApicBaseMsr);
    if ((base & kApicGlobalEnable) == 0 || (base & kApicX2Mode) != 0) {
        kprintf("interrupts: local APIC %s\n",
                (base & kApicGlobalEnable) == 0 ? "disabled" : "in x2APIC mode (unsupported)");
        return EOPNOTSUPP;
    }
    const uint64_t phys = base & kApicBaseMask;
    // boot.S maps the low 4 GiB write-back; registers must be uncached.
    if (wire::Status s = paging::map_identity(phys, 4096, paging::Caching::kUncached); !s) {
        kprintf("interrupts: cannot map the local APIC (errno %d)\n", s.error());
        return s.error();
    }
    g_apic = phys;
    // Nothing reaches us through the 8259s (their PIT tick would land on vector 8).
    x86::outb(kPic1Data, 0xff);
    x86::outb(kPic2Data, 0xff);
    lapic_eoi_register = phys + kRegEoi;
    idt::set_gate(kCompletionVector, reinterpret_cast<uint64_t>(&irq_completion_stub));
    idt::set_gate(kTimerVector, reinterpret_cast<uint64_t>(&irq_timer_stub));
    idt::set_gate(kSpuriousVector, reinterpret_cast<uint64_t>(&irq_spurious_stub));
    write_reg(kRegSvr, kSvrEnable | kSpuriousVector);

    // The timer's rate, against the calibrated TSC clock.
    write_reg(kRegLvtTimer, kLvtMasked | kTimerVector);
    write_reg(kRegDivide, kDivideBy16);
    write_reg(kRegInitialCount, 0xffffffffu);
    clock::delay_us(kCalibrationUs);
    const uint32_t left = read_reg(kRegCurrentCount);
    write_reg(kRegInitialCount, 0);
    g_ticks_per_ms = (0xffffffffull - left) / (kCalibrationUs / 1000);
    if (g_ticks_per_ms == 0) {
        kprintf("interrupts: the APIC timer does not count\n");
        return EOPNOTSUPP;
    }
    write_reg(kRegLvtTimer, kTimerVector);  // one-shot, unmasked; idle at count 0
    kprintf("interrupts: local APIC %u at %#lx, timer %lu kHz\n", apic_id(),
            static_cast<unsigned long>(phys), static_cast<unsigned long>(g_ticks_per_ms));
    return 0;
}

}  // namespace

wire::Status init() {
    if (!g_tried) {
        g_tried = true;
        g_error = bring_up();
    }
    if (g_error != 0) return wire::Error{g_error};
    return {};
}

uint32_t apic_id() {
    return g_apic ? read_reg(kRegId) >> 24 : 0;
}

void sleep(uint64_t max_ns) {
    if (g_apic == 0 || g_error != 0) return;
    uint64_t ticks = max_ns / 1000 * g_ticks_per_ms / 1000;
    if (ticks == 0) ticks = 1;
    if (ticks > 0xffffffffull) ticks = 0xffffffffull;
    write_reg(kRegInitialCount, static_cast<uint32_t>(ticks));
    x86::sti_hlt_cli();
    write_reg(kRegInitialCount, 0);  // woken by the device: the timer is not needed
}

uint64_t completion_interrupts() {
    return irq_completion_count;
}

uint64_t timer_interrupts() {
    return irq_timer_count;
}

}  // namespace vfs::guest::interrupts
