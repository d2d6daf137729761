// What --print-capabilities prints: the backend description QEMU's vhost-user.json
// schema (docs/interop/vhost-user.json) asks of a backend program, which libvirt reads
// to learn what it may pass us.
#pragma once

#include <string>

namespace vfs::host::cli {

// The JSON document, ending in a newline.
std::string vhost_user_capabilities_json();

}  // namespace vfs::host::cli
