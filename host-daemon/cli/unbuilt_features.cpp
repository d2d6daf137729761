#include "cli/unbuilt_features.h"

namespace vfs::host::cli {

namespace {

std::string join_flags(const std::vector<std::string>& flags) {
    std::string out;
    for (const auto& f : flags)
        out += (out.empty() ? "" : ", ") + f;
    return out;
}

}  // namespace

std::vector<std::string> unbuilt_feature_errors(const Options& o) {
    std::vector<std::string> errors;
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
    if (!o.migration_flags_given.empty()) {
        errors.push_back(join_flags(o.migration_flags_given) +
                         ": migration is not built yet, so virtiofsd-cxx offers no migration "
                         "to the front-end. Remove the --migration-* flags.");
    }
    return errors;
}

}  // namespace vfs::host::cli
