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
    if (o.sandbox != Sandbox::kNone) {
        errors.push_back("--sandbox=" + word_for(o.sandbox) +
                         " (or -o sandbox=" + word_for(o.sandbox) +
                         ") is not built yet: virtiofsd-cxx cannot isolate itself in a "
                         "namespace or chroot. Pass --sandbox=none to run without a sandbox "
                         "(the daemon still confines every path to the shared directory).");
    }
    if (o.seccomp != Seccomp::kNone) {
        errors.push_back("--seccomp=" + word_for(o.seccomp) +
                         " is not built yet: virtiofsd-cxx has no seccomp filter. Pass "
                         "--seccomp=none to run without one.");
    }
    if (o.xattrmap) {
        errors.push_back(
            "--xattrmap (or -o xattrmap=) is not built yet: extended attribute "
            "names cannot be translated. Remove it; --xattr passes names "
            "through unchanged.");
    }
    if (!o.uid_map.empty() || !o.gid_map.empty()) {
        errors.push_back(std::string(o.uid_map.empty() ? "--gid-map" : "--uid-map") +
                         " is not built yet: ID maps apply inside --sandbox=namespace, which "
                         "is not built either. Remove --uid-map/--gid-map; guest and host "
                         "IDs are then the same.");
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
    if (o.security_label) {
        errors.push_back(
            "--security-label (or -o security_label) is not built yet: security "
            "labels sent by the guest on create cannot be stored. Remove it.");
    }
    if (o.modcaps) {
        errors.push_back(
            "--modcaps (or -o modcaps=) is not built yet: virtiofsd-cxx does not "
            "drop capabilities, so there is no list to modify. Remove it.");
    }
    return errors;
}

std::vector<std::string> missing_default_warnings(const Options& o) {
    std::vector<std::string> warnings;
    if (!o.sandbox_given) {
        warnings.push_back(
            "running without a sandbox: virtiofsd's default --sandbox=namespace "
            "is not built yet, so the default here is none (the daemon still "
            "confines every path to the shared directory). Pass --sandbox=none "
            "to acknowledge this and silence the warning.");
    }
    if (!o.seccomp_given) {
        warnings.push_back(
            "running without a seccomp filter: virtiofsd's default "
            "--seccomp=kill is not built yet, so the default here is none. "
            "Pass --seccomp=none to acknowledge this and silence the warning.");
    }
    return warnings;
}

}  // namespace vfs::host::cli
