#include "cli/capabilities.h"

namespace vfs::host::cli {

std::string vhost_user_capabilities_json() {
    // "separate-options": we take --cache=... style flags, not only -o cache=.
    // Not "migrate-precopy": there is no migration (--migration-* flags are refused).
    return "{\n"
           "  \"type\": \"fs\",\n"
           "  \"features\": [\n"
           "    \"separate-options\"\n"
           "  ]\n"
           "}\n";
}

}  // namespace vfs::host::cli
