#include "cli/capabilities.h"

namespace vfs::host::cli {

std::string vhost_user_capabilities_json() {
    // "separate-options": we take --cache=... style flags, not only -o cache=.
    // "migrate-precopy": QEMU's DEVICE_STATE transfer (migration/) with the dirty-page log
    // (VHOST_F_LOG_ALL + LOG_SHMFD, memory/dirty_log.h); virtiofsd 1.13 lists the same two.
    return "{\n"
           "  \"type\": \"fs\",\n"
           "  \"features\": [\n"
           "    \"migrate-precopy\",\n"
           "    \"separate-options\"\n"
           "  ]\n"
           "}\n";
}

}  // namespace vfs::host::cli
