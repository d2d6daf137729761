#include "cli/capabilities.h"

namespace vfs::host::cli {

std::string vhost_user_capabilities_json() {
    // "separate-options": we take --cache=... style flags, not only -o cache=.
    // "migrate-precopy": the back-end's state moves with QEMU's DEVICE_STATE transfer
    // (migration/), which libvirt needs to hear of before it migrates a virtiofs domain.
    return "{\n"
           "  \"type\": \"fs\",\n"
           "  \"features\": [\n"
           "    \"migrate-precopy\",\n"
           "    \"separate-options\"\n"
           "  ]\n"
           "}\n";
}

}  // namespace vfs::host::cli
