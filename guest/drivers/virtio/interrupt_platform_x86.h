// The unikernel's interrupt platform for VirtioPciModern (interrupt_platform_x86.cpp).
#pragma once

#include "drivers/virtio/interrupt_platform.h"

namespace vfs::guest::virtio {

InterruptPlatform& x86_interrupt_platform();

}  // namespace vfs::guest::virtio
