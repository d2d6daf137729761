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
    if (!o.migration_flags_given.empty()) {
        errors.push_back(join_flags(o.migration_flags_given) +
                         ": migration is not built yet, so virtiofsd-cxx offers no migration "
                         "to the front-end. Remove the --migration-* flags.");
    }
    return errors;
}

}  // namespace vfs::host::cli
