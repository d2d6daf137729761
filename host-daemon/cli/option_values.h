// The words that name a flag's value (cache modes, log levels, sandbox modes, ...).
//
// One table per value kind, shared by the --flag parser (CLI11 maps words to enums with
// it) and the legacy "-o key=value" parser, so both accept exactly the same spellings.
#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "fs/fs_options.h"

namespace vfs::host::cli {

// How the daemon isolates itself. Only kNone exists today; the others are recognised so
// that asking for them fails with a clear message instead of a parse error.
enum class Sandbox { kNone, kNamespace, kChroot };

// What a seccomp filter does with a forbidden system call. Only kNone exists today.
enum class Seccomp { kNone, kKill, kLog, kTrap };

// --cache: auto, always, never, metadata.
const std::map<std::string, CacheMode>& cache_mode_words();
// -o cache=: QEMU's C virtiofsd spelled "never" as "none".
const std::map<std::string, CacheMode>& compat_cache_mode_words();
// --log-level: error, warn, info, debug, trace, off, plus QEMU's "err".
const std::map<std::string, spdlog::level::level_enum>& log_level_words();
const std::map<std::string, Sandbox>& sandbox_words();
const std::map<std::string, Seccomp>& seccomp_words();
// --inode-file-handles: never, prefer, mandatory; "fallback" is an old name of prefer.
const std::map<std::string, InodeFileHandles>& inode_file_handles_words();

// The word a value is written as on the command line (for messages).
std::string word_for(Sandbox value);
std::string word_for(Seccomp value);
std::string word_for(InodeFileHandles value);

// A size in bytes with an optional K, M or G suffix (powers of 1024; "2M", "16G"); also
// KiB/MiB/GiB spelled out. Empty for anything else or a size past 2^63.
std::optional<uint64_t> parse_size(const std::string& text);

// Looks a word up in one of the tables above.
template <typename T>
std::optional<T> lookup_word(const std::map<std::string, T>& words, const std::string& word) {
    const auto it = words.find(word);
    if (it == words.end()) return std::nullopt;
    return it->second;
}

// "a|b|c", for help texts and error messages.
template <typename T>
std::string word_list(const std::map<std::string, T>& words) {
    std::string out;
    for (const auto& [word, value] : words) {
        if (!out.empty()) out += '|';
        out += word;
    }
    return out;
}

}  // namespace vfs::host::cli
