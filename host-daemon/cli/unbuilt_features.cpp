#include "cli/unbuilt_features.h"

namespace vfs::host::cli {

std::vector<std::string> unbuilt_feature_errors(const Options& o) {
    std::vector<std::string> errors;
    if (o.xattrmap) {
        errors.push_back(
            "--xattrmap (or -o xattrmap=) is not built yet: extended attribute "
            "names cannot be translated. Remove it; --xattr passes names "
            "through unchanged.");
    }
    if (!o.uid_map.empty() || !o.gid_map.empty()) {
        errors.push_back(std::string(o.uid_map.empty() ? "--gid-map" : "--uid-map") +
                         " is not built yet: the sandbox's user namespace maps only the caller's "
                         "own ids. Remove --uid-map/--gid-map; guest and host IDs are then the "
                         "same.");
    }
    if (!o.translate_uid.empty() || !o.translate_gid.empty()) {
        errors.push_back(
            std::string(o.translate_uid.empty() ? "--translate-gid" : "--translate-uid") +
            " is not built yet: IDs cannot be translated between guest and "
            "host. Remove --translate-uid/--translate-gid; guest and host IDs "
            "are then the same.");
    }
    if (o.security_label) {
        errors.push_back(
            "--security-label (or -o security_label) is not built yet: security "
            "labels sent by the guest on create cannot be stored. Remove it.");
    }
    return errors;
}

}  // namespace vfs::host::cli
