// Polled 16550 output on COM1 at 115200 8N1; no interrupts, no input.
#include "arch/x86_64/serial.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io_port.h"

namespace vfs::guest::serial {
namespace {

constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kData = 0, kIer = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr uint8_t kLcrDlab = 0x80, kLcr8N1 = 0x03, kLsrTxEmpty = 0x20;

}  // namespace

void init() {
    x86::outb(kCom1 + kIer, 0x00);      // no interrupts
    x86::outb(kCom1 + kLcr, kLcrDlab);  // divisor latch on
    x86::outb(kCom1 + 0, 0x01);         // divisor 1: 115200 baud
    x86::outb(kCom1 + 1, 0x00);
    x86::outb(kCom1 + kLcr, kLcr8N1);
    x86::outb(kCom1 + kFcr, 0xc7);  // FIFO on, cleared, 14-byte threshold
    x86::outb(kCom1 + kMcr, 0x03);  // DTR, RTS
}

void put_char(char c) {
    if (c == '\n') put_char('\r');
    while ((x86::inb(kCom1 + kLsr) & kLsrTxEmpty) == 0)
        x86::pause();
    x86::outb(kCom1 + kData, static_cast<uint8_t>(c));
}

void write(const char* s, unsigned long len) {
    for (unsigned long i = 0; i < len; ++i)
        put_char(s[i]);
}

}  // namespace vfs::guest::serial
