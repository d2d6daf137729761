#include "cli/option_values.h"

namespace vfs::host::cli {

std::optional<uint64_t> parse_size(const std::string& text) {
    size_t i = 0;
    uint64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        const uint64_t digit = static_cast<uint64_t>(text[i] - '0');
        if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
        v = v * 10 + digit;
        ++i;
    }
    if (i == 0) return std::nullopt;
    const std::string suffix = text.substr(i);
    unsigned shift = 0;
    if (suffix.empty()) {
        shift = 0;
    } else if (suffix == "K" || suffix == "k" || suffix == "KiB") {
        shift = 10;
    } else if (suffix == "M" || suffix == "m" || suffix == "MiB") {
        shift = 20;
    } else if (suffix == "G" || suffix == "g" || suffix == "GiB") {
        shift = 30;
    } else {
        return std::nullopt;
    }
    if (v > (uint64_t{INT64_MAX} >> shift)) return std::nullopt;
    return v << shift;
}

const std::map<std::string, CacheMode>& cache_mode_words() {
    static const std::map<std::string, CacheMode> words{{"auto", CacheMode::kAuto},
                                                        {"always", CacheMode::kAlways},
                                                        {"never", CacheMode::kNever},
                                                        {"metadata", CacheMode::kMetadata}};
    return words;
}

const std::map<std::string, CacheMode>& compat_cache_mode_words() {
    static const std::map<std::string, CacheMode> words{{"auto", CacheMode::kAuto},
                                                        {"always", CacheMode::kAlways},
                                                        {"none", CacheMode::kNever},
                                                        {"metadata", CacheMode::kMetadata}};
    return words;
}

const std::map<std::string, spdlog::level::level_enum>& log_level_words() {
    using spdlog::level::level_enum;
    static const std::map<std::string, level_enum> words{
        {"error", level_enum::err}, {"err", level_enum::err},     {"warn", level_enum::warn},
        {"info", level_enum::info}, {"debug", level_enum::debug}, {"trace", level_enum::trace},
        {"off", level_enum::off}};
    return words;
}

const std::map<std::string, Sandbox>& sandbox_words() {
    static const std::map<std::string, Sandbox> words{
        {"none", Sandbox::kNone}, {"namespace", Sandbox::kNamespace}, {"chroot", Sandbox::kChroot}};
    return words;
}

const std::map<std::string, Seccomp>& seccomp_words() {
    static const std::map<std::string, Seccomp> words{{"none", Seccomp::kNone},
                                                      {"kill", Seccomp::kKill},
                                                      {"log", Seccomp::kLog},
                                                      {"trap", Seccomp::kTrap}};
    return words;
}

const std::map<std::string, InodeFileHandles>& inode_file_handles_words() {
    static const std::map<std::string, InodeFileHandles> words{
        {"never", InodeFileHandles::kNever},
        {"prefer", InodeFileHandles::kPrefer},
        {"fallback", InodeFileHandles::kPrefer},
        {"mandatory", InodeFileHandles::kMandatory}};
    return words;
}

namespace {

template <typename T>
std::string reverse_lookup(const std::map<std::string, T>& words, T value) {
    for (const auto& [word, v] : words)
        if (v == value) return word;
    return "?";
}

}  // namespace

std::string word_for(Sandbox value) {
    return reverse_lookup(sandbox_words(), value);
}
std::string word_for(Seccomp value) {
    return reverse_lookup(seccomp_words(), value);
}
std::string word_for(InodeFileHandles value) {
    // "fallback" sorts before "prefer"; name the current spelling.
    if (value == InodeFileHandles::kPrefer) return "prefer";
    return reverse_lookup(inode_file_handles_words(), value);
}

}  // namespace vfs::host::cli
