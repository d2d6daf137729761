// Writes the outcome to isa-debug-exit (see debug_exit.h for the mapping).
#include "arch/x86_64/debug_exit.h"

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/io_port.h"

namespace vfs::guest {

namespace {
constexpr uint16_t kDebugExitPort = 0xf4;
}

void exit_qemu(ExitCode code) {
    x86::outl(kDebugExitPort, static_cast<uint8_t>(code));
    x86::halt_forever();  // no isa-debug-exit device: stop here
}

}  // namespace vfs::guest
