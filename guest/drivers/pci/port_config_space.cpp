// Mechanism #1 accessors (see port_config_space.h). Sub-dword accesses use the matching
// byte lanes of the data port, so a 16-bit write never touches its neighbour (the status
// register next to the command register has write-one-to-clear bits).
#include "drivers/pci/port_config_space.h"

#include "arch/x86_64/io_port.h"

namespace vfs::guest::pci {
namespace {

constexpr uint16_t kAddressPort = 0xcf8;
constexpr uint16_t kDataPort = 0xcfc;

void select(Bdf f, uint16_t off) {
    const uint32_t addr = 0x80000000u | (uint32_t{f.bus} << 16) | (uint32_t{f.dev & 31u} << 11) |
                          (uint32_t{f.fn & 7u} << 8) | (off & 0xfcu);
    x86::outl(kAddressPort, addr);
}

}  // namespace

uint8_t PortConfigSpace::read8(Bdf f, uint16_t off) {
    select(f, off);
    return x86::inb(kDataPort + (off & 3));
}
uint16_t PortConfigSpace::read16(Bdf f, uint16_t off) {
    select(f, off);
    return x86::inw(kDataPort + (off & 2));
}
uint32_t PortConfigSpace::read32(Bdf f, uint16_t off) {
    select(f, off);
    return x86::inl(kDataPort);
}
void PortConfigSpace::write16(Bdf f, uint16_t off, uint16_t v) {
    select(f, off);
    x86::outw(kDataPort + (off & 2), v);
}
void PortConfigSpace::write32(Bdf f, uint16_t off, uint32_t v) {
    select(f, off);
    x86::outl(kDataPort, v);
}

}  // namespace vfs::guest::pci
