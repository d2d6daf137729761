// Monotonic time in nanoseconds from the TSC, whose rate is measured once at boot
// against PIT channel 2 (whose gate and output are readable through port 0x61, and which
// QEMU emulates under TCG too).
#pragma once

#include <stdint.h>

namespace vfs::guest::clock {

// Measures the TSC rate; takes about 10 ms.
void calibrate();

uint64_t tsc_hz();
uint64_t now_ns();                   // since boot.S first ran
uint64_t tsc_to_ns(uint64_t ticks);  // a TSC interval in ns
void delay_us(uint64_t us);

}  // namespace vfs::guest::clock
