// The migration state stream: what a source daemon hands QEMU (SET_DEVICE_STATE_FD, save)
// and a destination reads back (load). Versioned and length-prefixed:
//
//   "VFSCXXST" (8 bytes) | u32 version | u32 reserved (0) | u64 body length | body
//
// Little-endian throughout. The body holds the FUSE session, then the inodes, then the
// open handles (state_format.cpp spells the fields out). decode() treats the bytes as
// hostile: every count and length is bounded, the body must be exactly as long as it
// says, and an unknown version or a reserved bit set is refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fs/file_handles.h"
#include "vfs/wire/result.h"

namespace vfs::host::migration {

inline constexpr uint32_t kStateVersion = 1;
inline constexpr size_t kStreamHeaderBytes = 24;
// Bounds for what a destination accepts (far above anything a guest can hold open).
inline constexpr uint64_t kMaxBodyBytes = 256ull << 20;
inline constexpr uint32_t kMaxInodes = 1u << 22;
inline constexpr uint32_t kMaxHandles = 1u << 22;
inline constexpr uint32_t kMaxPathBytes = 4095;

// The FUSE session as INIT left it, so the destination serves without a new INIT.
struct SessionRecord {
    bool initialized = false;
    uint32_t minor = 0;
    uint64_t flags = 0;  // negotiated flags | flags2 << 32
};

// How the destination finds an inode again.
enum class Locator : uint8_t {
    kPath = 0,    // `path`, relative to the share root
    kHandle = 1,  // `handle`, on the share root's mount
    kLost = 2,    // the source could not name it (--migration-on-error=guest-error): EIO
};

struct InodeRecord {
    uint64_t nodeid = 0;
    uint64_t nlookup = 0;
    uint32_t type = 0;  // S_IFMT bits
    Locator locator = Locator::kPath;
    std::string path;         // kPath: relative, no leading '/', no "." or ".." components
    bool has_handle = false;  // kHandle, or kPath with --migration-verify-handles
    FileHandle handle;
};

struct HandleRecord {
    uint64_t fh = 0;
    uint64_t nodeid = 0;
    uint32_t open_flags = 0;  // the host fd's F_GETFL
    bool is_dir = false;
};

struct State {
    SessionRecord session;
    uint64_t next_nodeid = 2;
    uint64_t next_fh = 1;
    std::vector<InodeRecord> inodes;  // the root (node 1) is never sent
    std::vector<HandleRecord> handles;
};

std::vector<uint8_t> encode(const State& s);
// EINVAL for a malformed stream, EPROTONOSUPPORT for an unknown version, E2BIG for one
// past the bounds above.
vfs::wire::Result<State> decode(std::span<const uint8_t> bytes);
// Whether a path from a stream is one the destination may resolve: relative, non-empty
// components, none "." or "..", no NUL, at most kMaxPathBytes.
bool is_clean_relative_path(std::string_view path);

}  // namespace vfs::host::migration
