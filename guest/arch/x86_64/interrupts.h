// Device interrupts for the completion wait: the local APIC (xAPIC, its page remapped
// uncached), one completion vector for MSI-X, a one-shot APIC timer that bounds every
// sleep, and the 8259 PICs masked (the firmware's PIT tick would otherwise arrive on a
// vector the exception table owns). Interrupts stay off (IF=0) everywhere but inside
// sleep(), so nothing here can interrupt the kernel mid-work.
#pragma once

#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::guest::interrupts {

inline constexpr uint8_t kCompletionVector = 0x40;
inline constexpr uint8_t kTimerVector = 0x30;
inline constexpr uint8_t kSpuriousVector = 0xff;

// Brings the above up once (later calls return the first result). EOPNOTSUPP (logged) when
// the CPU has no APIC or runs it in x2APIC mode.
wire::Status init();
// This CPU's APIC id (the MSI destination). init() first.
uint32_t apic_id();
// Sleeps until any interrupt or about max_ns (the APIC timer). Returns at once if an
// interrupt is already pending. init() first.
void sleep(uint64_t max_ns);

// Interrupts taken since boot.
uint64_t completion_interrupts();
uint64_t timer_interrupts();

}  // namespace vfs::guest::interrupts
