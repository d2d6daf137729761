#include "sandbox/capabilities.h"

#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <string.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace vfs::host::sandbox {

std::variant<std::vector<CapabilityChange>, std::string> parse_modcaps(const std::string& spec) {
    std::vector<CapabilityChange> changes;
    size_t start = 0;
    while (start <= spec.size()) {
        const size_t end = std::min(spec.find(':', start), spec.size());
        const std::string entry = spec.substr(start, end - start);
        start = end + 1;
        if (entry.size() < 2 || (entry[0] != '+' && entry[0] != '-'))
            return "--modcaps: \"" + entry + "\" is not +NAME or -NAME (e.g. +sys_admin:-mknod)";
        std::string name = entry.substr(1);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (name.rfind("cap_", 0) == 0) name.erase(0, 4);
        const int cap = capng_name_to_capability(name.c_str());
        if (cap < 0) return "--modcaps: no capability named \"" + entry.substr(1) + "\"";
        changes.push_back({entry[0] == '+', cap});
    }
    return changes;
}

std::vector<int> kept_capabilities(bool file_handles,
                                   const std::vector<CapabilityChange>& changes) {
    std::vector<int> keep = {CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID,
                             CAP_SETGID, CAP_SETUID,       CAP_MKNOD,  CAP_SETFCAP};
    if (file_handles) keep.push_back(CAP_DAC_READ_SEARCH);
    for (const auto& c : changes) {
        const auto it = std::find(keep.begin(), keep.end(), c.capability);
        if (c.add && it == keep.end()) keep.push_back(c.capability);
        if (!c.add && it != keep.end()) keep.erase(it);
    }
    return keep;
}

std::optional<std::string> keep_only(const std::vector<int>& keep) {
    if (capng_get_caps_process() != 0) return "cannot read the process's capabilities";
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) return std::nullopt;
    std::vector<int> held;
    for (const int cap : keep) {
        if (capng_have_capability(CAPNG_PERMITTED, static_cast<unsigned>(cap)))
            held.push_back(cap);
        else
            spdlog::info("capability {} is not held, so not kept", capng_capability_to_name(cap));
    }
    const bool can_bound = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
    capng_clear(CAPNG_SELECT_BOTH);
    for (const int cap : held) {
        if (capng_update(
                CAPNG_ADD,
                static_cast<capng_type_t>(CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET),
                static_cast<unsigned>(cap)) != 0)
            return std::string("cannot keep capability ") + capng_capability_to_name(cap);
    }
    // The bounding set can shrink only with CAP_SETPCAP; without it the caps alone go.
    if (capng_apply(can_bound ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) != 0)
        return std::string("cannot drop capabilities: ") + strerror(errno);
    return std::nullopt;
}

}  // namespace vfs::host::sandbox
