// The FUSE session: INIT negotiation and the state every queue worker reads.
//
// Negotiation is a pure function of the guest's fuse_init_in and our options, so it is
// unit-tested without a transport. The negotiated state is written once by INIT (or reset
// by DESTROY) and read by all workers, hence atomics rather than a lock.
#pragma once

#include <linux/fuse.h>

#include <atomic>
#include <cstdint>

#include "fs/fs_options.h"
#include "vfs/wire/fuse_opcodes.h"
#include "vfs/wire/result.h"

namespace vfs::host {

// Limits we announce: 1 MiB per READ/WRITE in at most 256 pages, like virtiofsd.
inline constexpr uint32_t kMaxWrite = 1u << 20;
inline constexpr uint16_t kMaxPages = 256;
// The largest payload a request may carry (a max_write WRITE); anything bigger is E2BIG.
inline constexpr uint64_t kMaxPayload = kMaxWrite;

// The outcome of the INIT negotiation (the reply and what both sides agreed on).
struct NegotiatedInit {
    fuse_init_out out{};
    vfs::wire::Proto proto;
    uint64_t flags = 0;  // the flags both sides agreed on (flags | flags2 << 32)
};

// Answers the guest's INIT. EPROTO for a major version we cannot speak.
vfs::wire::Result<NegotiatedInit> negotiate_init(const fuse_init_in& in, uint32_t arg_len,
                                                 const FsOptions& opts);

class Session {
  public:
    bool initialized() const { return initialized_.load(std::memory_order_acquire); }
    vfs::wire::Proto proto() const {
        return {minor_.load(std::memory_order_acquire), (flags() & FUSE_SETXATTR_EXT) != 0};
    }
    uint64_t flags() const { return flags_.load(std::memory_order_acquire); }

    // False if a session is already up (a second INIT).
    bool begin(const NegotiatedInit& n) {
        bool expected = false;
        if (!claimed_.compare_exchange_strong(expected, true)) return false;
        flags_.store(n.flags, std::memory_order_release);
        minor_.store(n.proto.minor, std::memory_order_release);
        initialized_.store(true, std::memory_order_release);
        return true;
    }
    // DESTROY: the guest unmounted; a new INIT may follow (a remount).
    void end() {
        initialized_.store(false, std::memory_order_release);
        minor_.store(0, std::memory_order_release);
        flags_.store(0, std::memory_order_release);
        claimed_.store(false, std::memory_order_release);
    }

  private:
    std::atomic<bool> claimed_{false};
    std::atomic<bool> initialized_{false};
    std::atomic<uint32_t> minor_{0};
    std::atomic<uint64_t> flags_{0};
};

}  // namespace vfs::host
