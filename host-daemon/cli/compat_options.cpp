#include "cli/compat_options.h"

#include <charconv>
#include <functional>
#include <map>
#include <sstream>

namespace vfs::host::cli {

namespace {

// Switches: "-o name" sets one field. Both C and Rust virtiofsd spell them this way.
const std::map<std::string, std::function<void(Options&)>>& switches() {
    static const std::map<std::string, std::function<void(Options&)>> table{
        {"xattr", [](Options& o) { o.fs.xattr = true; }},
        {"no_xattr", [](Options& o) { o.fs.xattr = false; }},
        {"readdirplus", [](Options& o) { o.fs.readdirplus = true; }},
        {"no_readdirplus", [](Options& o) { o.fs.readdirplus = false; }},
        {"writeback", [](Options& o) { o.fs.writeback = true; }},
        {"no_writeback", [](Options& o) { o.fs.writeback = false; }},
        {"allow_direct_io", [](Options& o) { o.fs.allow_direct_io = true; }},
        {"no_allow_direct_io", [](Options& o) { o.fs.allow_direct_io = false; }},
        {"announce_submounts", [](Options& o) { o.fs.announce_submounts = true; }},
        {"killpriv_v2", [](Options& o) { o.fs.killpriv_v2 = true; }},
        {"no_killpriv_v2", [](Options& o) { o.fs.killpriv_v2 = false; }},
        {"posix_acl", [](Options& o) { o.fs.posix_acl = true; }},
        {"no_posix_acl", [](Options& o) { o.fs.posix_acl = false; }},
        {"security_label", [](Options& o) { o.security_label = true; }},
        {"no_security_label", [](Options& o) { o.security_label = false; }},
        {"posix_lock", [](Options& o) { o.fs.posix_lock = true; }},
        {"no_posix_lock", [](Options& o) { o.fs.posix_lock = false; }},
        {"flock", [](Options& o) { o.fs.flock = true; }},
        {"no_flock", [](Options& o) { o.fs.flock = false; }},
        {"debug", [](Options& o) { o.log_level = spdlog::level::debug; }},
    };
    return table;
}

template <typename T>
std::optional<std::string> set_from_words(const std::map<std::string, T>& words,
                                          const std::string& key, const std::string& value,
                                          T& field) {
    const auto parsed = lookup_word(words, value);
    if (!parsed) {
        return "invalid value '" + value + "' for -o " + key + " (expected " + word_list(words) +
               ")";
    }
    field = *parsed;
    return std::nullopt;
}

template <typename Number>
std::optional<Number> parse_number(const std::string& text) {
    Number n{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return n;
}

// Options that take a value: "-o key=value".
std::optional<std::string> apply_keyed(const std::string& key, const std::string& value, Options& o,
                                       std::vector<std::string>& warnings) {
    if (key == "source") {
        o.fs.shared_dir = value;
    } else if (key == "cache") {
        return set_from_words(compat_cache_mode_words(), key, value, o.fs.cache);
    } else if (key == "log_level" || key == "loglevel") {
        // C virtiofsd says log_level=, Rust virtiofsd loglevel=.
        return set_from_words(log_level_words(), key, value, o.log_level);
    } else if (key == "sandbox") {
        o.sandbox_given = true;
        return set_from_words(sandbox_words(), key, value, o.sandbox);
    } else if (key == "timeout") {
        const auto seconds = parse_number<double>(value);
        if (!seconds || *seconds < 0) {
            return "invalid value '" + value + "' for -o timeout (expected seconds, >= 0)";
        }
        o.fs.entry_attr_timeout_s = *seconds;
    } else if (key == "max_idle_threads") {
        // C virtiofsd's idle-thread cap: our pool (--thread-pool-size) keeps its threads.
        const auto n = parse_number<unsigned>(value);
        if (!n) return "invalid value '" + value + "' for -o max_idle_threads (expected a count)";
        warnings.push_back(
            "-o max_idle_threads has no effect: the thread pool's threads stay; "
            "size it with --thread-pool-size");
    } else if (key == "xattrmap") {
        o.xattrmap = value;
    } else if (key == "modcaps") {
        o.modcaps = value;
    } else {
        return "unknown option '-o " + key + "=" + value + "'";
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> apply_compat_options(const std::string& list, Options& o,
                                                std::vector<std::string>& warnings) {
    std::stringstream items(list);
    std::string item;
    while (std::getline(items, item, ',')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq != std::string::npos) {
            if (auto err = apply_keyed(item.substr(0, eq), item.substr(eq + 1), o, warnings))
                return err;
        } else if (const auto it = switches().find(item); it != switches().end()) {
            it->second(o);
        } else if (item == "allow_root") {
            // A FUSE mount option: it lets root use a mount made by another user. With
            // virtio-fs the guest kernel mounts, so there is nothing here to apply it to.
            warnings.push_back(
                "-o allow_root has no effect: the guest, not this daemon, "
                "mounts the filesystem");
        } else {
            return "unknown option '-o " + item + "'";
        }
    }
    return std::nullopt;
}

}  // namespace vfs::host::cli
