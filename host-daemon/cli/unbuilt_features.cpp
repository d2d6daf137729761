#include "cli/unbuilt_features.h"

namespace vfs::host::cli {

// Every virtiofsd 1.13 option is built now. This stays the one place where a flag that
// parses but has no feature behind it is refused by name.
std::vector<std::string> unbuilt_feature_errors(const Options&) {
    return {};
}

}  // namespace vfs::host::cli
