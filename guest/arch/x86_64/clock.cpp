// TSC calibration against the 1.193182 MHz PIT, one-shot mode 0 on channel 2.
#include "arch/x86_64/clock.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io_port.h"

extern "C" uint64_t boot_tsc;  // boot.S, first instruction

namespace vfs::guest::clock {
namespace {

constexpr uint64_t kPitHz = 1193182;
constexpr uint64_t kCalibrationMs = 10;
constexpr uint16_t kPitChannel2 = 0x42, kPitCommand = 0x43, kSystemControlB = 0x61;
constexpr uint8_t kGate2 = 0x01, kSpeaker = 0x02, kOut2 = 0x20;
constexpr uint8_t kChannel2LoHiMode0 = 0xb0;

uint64_t g_tsc_hz = 1'000'000'000;  // placeholder until calibrate()

}  // namespace

void calibrate() {
    const uint16_t latch = static_cast<uint16_t>(kPitHz * kCalibrationMs / 1000);
    // Gate high, speaker off; mode 0 raises OUT2 once the count reaches zero.
    x86::outb(kSystemControlB, (x86::inb(kSystemControlB) & ~kSpeaker) | kGate2);
    x86::outb(kPitCommand, kChannel2LoHiMode0);
    x86::outb(kPitChannel2, latch & 0xff);
    x86::outb(kPitChannel2, latch >> 8);
    const uint64_t start = x86::rdtsc();
    while ((x86::inb(kSystemControlB) & kOut2) == 0)
        x86::pause();
    const uint64_t ticks = x86::rdtsc() - start;
    const uint64_t hz = ticks * kPitHz / latch;
    if (hz != 0) g_tsc_hz = hz;
}

uint64_t tsc_hz() {
    return g_tsc_hz;
}

uint64_t tsc_to_ns(uint64_t ticks) {
    // Split to avoid overflow: whole seconds, then the remainder.
    return ticks / g_tsc_hz * 1'000'000'000ull + (ticks % g_tsc_hz) * 1'000'000'000ull / g_tsc_hz;
}

uint64_t now_ns() {
    return tsc_to_ns(x86::rdtsc() - boot_tsc);
}

void delay_us(uint64_t us) {
    const uint64_t end = now_ns() + us * 1000;
    while (now_ns() < end)
        x86::pause();
}

}  // namespace vfs::guest::clock
