#include "cli/id_options.h"

namespace vfs::host::cli {
namespace {

std::optional<std::string> add_rules(const char* flag, const std::vector<std::string>& rules,
                                     IdTranslation* table) {
    for (const auto& r : rules)
        if (auto err = table->add(r)) return std::string(flag) + " " + *err;
    return std::nullopt;
}

}  // namespace

std::optional<std::string> apply_id_options(Options& o) {
    IdTranslations ids;
    if (auto err = add_rules("--translate-uid", o.translate_uid, &ids.uid)) return err;
    if (auto err = add_rules("--translate-gid", o.translate_gid, &ids.gid)) return err;
    // ACL entries name ids inside xattr values, which no rule sees (as virtiofsd says).
    if (!ids.empty() && o.fs.posix_acl)
        return "--translate-uid/--translate-gid cannot be used with --posix-acl: ACLs hold "
               "ids the translation would not see";
    o.fs.ids = std::move(ids);

    sandbox::IdMaps maps;
    if (auto err = sandbox::parse_id_maps("--uid-map", o.uid_map, &maps.uid)) return err;
    if (auto err = sandbox::parse_id_maps("--gid-map", o.gid_map, &maps.gid)) return err;
    if (!maps.empty() && o.sandbox != Sandbox::kNamespace)
        return std::string(maps.uid.empty() ? "--gid-map" : "--uid-map") +
               " maps ids into the sandbox's user namespace: it needs --sandbox=namespace";
    return std::nullopt;
}

sandbox::IdMaps sandbox_id_maps(const Options& o) {
    sandbox::IdMaps maps;
    (void)sandbox::parse_id_maps("--uid-map", o.uid_map, &maps.uid);
    (void)sandbox::parse_id_maps("--gid-map", o.gid_map, &maps.gid);
    return maps;
}

}  // namespace vfs::host::cli
