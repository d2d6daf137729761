// The files every backend is benchmarked on, created once per run in the shared
// directory with plain syscalls: a pattern-filled file to read, a directory of 10,000
// empty files (LOOKUP, GETATTR and READDIRPLUS targets), and empty directories for the
// create and write workloads.
#pragma once

#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "vfs/wire/result.h"

namespace vfs::bench {

struct ShareLayout {
    static constexpr const char* kReadFile = "read.dat";
    static constexpr const char* kManyDir = "dir10k";
    static constexpr const char* kCreateDir = "create";
    static constexpr const char* kWriteDir = "write";
    static constexpr uint32_t kManyCount = 10000;
    // Big enough that sequential reads stream rather than hit one cache line, small enough
    // to stay in the host page cache (every backend reads cached data, as native does).
    static constexpr uint64_t kReadBytes = 64ull << 20;
    // Sequential writes wrap here, so a long run never fills the disk.
    static constexpr uint64_t kWriteWrapBytes = 32ull << 20;

    std::string root;
    uint64_t read_seed = 0;
    // The read file's bytes, kept in memory so full checks are a memcmp.
    std::unique_ptr<uint8_t[]> read_expected;
    // st_ino of dir10k/f00000 .. f09999, for LOOKUP/GETATTR/READDIRPLUS checks.
    std::vector<uint64_t> many_inos;
    std::vector<std::string> many_names;  // many_name(i), made once

    std::string path(const std::string& rel) const { return root + "/" + rel; }
    // "f00042": fixed width, so names sort and parse simply.
    static std::string many_name(uint32_t i);
    // The index of a dir10k name, or -1 if it is not one of ours.
    static int64_t many_index(const char* name, uint32_t len);
};

// Creates the layout under root (which must exist and be empty or hold an earlier
// layout, which is replaced).
vfs::wire::Result<std::unique_ptr<ShareLayout>> prepare_share(const std::string& root,
                                                              uint64_t seed);

}  // namespace vfs::bench
