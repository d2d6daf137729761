// One-line diagnostics from code that builds both in the unikernel and in host unit
// tests (PCI scan, virtio-pci): the guest prints to serial, the tests capture the lines.
// Use standard printf conversions only; no trailing newline.
#pragma once

namespace vfs::guest {

void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace vfs::guest
