#include "cli/capabilities.h"

namespace vfs::host::cli {

std::string vhost_user_capabilities_json() {
    // "separate-options": we take --cache=... style flags, not only -o cache=.
    // Not "migrate-precopy" yet: the state transfer is built (migration/), but QEMU blocks
    // migrating a back-end that cannot log its writes to guest memory (VHOST_F_LOG_ALL),
    // which is not built (docs/migration.md, "What is left").
    return "{\n"
           "  \"type\": \"fs\",\n"
           "  \"features\": [\n"
           "    \"separate-options\"\n"
           "  ]\n"
           "}\n";
}

}  // namespace vfs::host::cli
