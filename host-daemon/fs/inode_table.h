// The inode table: FUSE node ids for the host files a guest has looked up.
//
// A node id is an opaque number the guest sends back; it is never a pointer, so a forged
// id finds nothing. Each inode is keyed by (st_dev, st_ino, mount id) so hard links and
// repeated lookups share one node, holds an O_PATH fd to its host file, and counts the
// lookups the guest still owes a FORGET for. When the count drops to zero the inode and
// its fd go away. Thread-safe: every queue worker uses it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include "fs/fd_budget.h"
#include "fs/file_handles.h"
#include "util/unique_fd.h"

namespace vfs::host {

struct InodeKey {
    dev_t dev = 0;
    ino_t ino = 0;
    uint64_t mnt_id = 0;
    auto operator<=>(const InodeKey&) const = default;
};

struct InodeKeyHash {
    size_t operator()(const InodeKey& k) const noexcept {
        // splitmix64's finaliser over the three fields: st_ino alone is often sequential.
        uint64_t h = k.ino ^ (uint64_t(k.dev) * 0x9e3779b97f4a7c15ull) ^ (k.mnt_id << 32);
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebull;
        return static_cast<size_t>(h ^ (h >> 31));
    }
};

struct Inode {
    uint64_t nodeid = 0;
    InodeKey key;
    mode_t type = 0;  // S_IFMT bits, fixed for the inode's life
    UniqueFd fd;      // O_PATH; invalid when `handle` stands in for it
    // Out of line: most inodes hold an fd, and a FileHandle is ~150 bytes.
    std::unique_ptr<const FileHandle> handle;
    FdBudget::Token token;  // from the fd budget while `fd` is open, else the handle budget
    uint64_t nlookup = 0;
};

using InodeRef = std::shared_ptr<Inode>;

class InodeTable {
  public:
    // Installs the root (node id FUSE_ROOT_ID), which is never forgotten.
    void set_root(InodeKey key, mode_t type, UniqueFd fd);

    // The inode for a node id, or nullptr if the guest names one it does not hold.
    InodeRef get(uint64_t nodeid) const;

    // After a successful lookup of (key): the existing inode with one more lookup, or a
    // new one that takes `fd` and `handle` (either may be empty, not both). The caller's
    // fd is closed if an inode already existed.
    // A new inode takes a token from `budget` if it keeps `fd`, from `handle_budget` if
    // a file handle stands in for the fd (when given); nullptr if that budget is spent.
    InodeRef add_lookup(InodeKey key, mode_t type, UniqueFd fd,
                        std::optional<FileHandle> handle = std::nullopt, FdBudget* budget = nullptr,
                        FdBudget* handle_budget = nullptr);

    // Drops n lookups; the inode goes when none remain. Unknown ids are ignored, as a
    // FORGET has no reply to carry an error.
    void forget(uint64_t nodeid, uint64_t n);

    size_t size() const;

    // Migration (migration/): every inode but the root, under the table's lock; the next
    // id to hand out; and an inode put back with its own id, which must be free and not
    // the root (false otherwise). `index_key` false keeps it out of the key index (an
    // inode lost in a migration, or a second one for a key already taken).
    template <class Fn>
    void for_each(Fn&& fn) const {
        std::shared_lock lock(mu_);
        for (const auto& [id, inode] : by_id_)
            if (id != 1) fn(inode);
    }
    uint64_t next_id() const;
    bool restore(InodeRef inode, bool index_key, uint64_t next_id);
    // Forgets every inode but the root, whatever its lookup count.
    void clear_except_root();

  private:
    mutable std::shared_mutex mu_;
    std::unordered_map<uint64_t, InodeRef> by_id_;
    // Hashed, not ordered: a lookup stays O(1) with a million inodes held.
    std::unordered_map<InodeKey, uint64_t, InodeKeyHash> by_key_;
    uint64_t next_id_ = 2;  // 1 is the root
};

}  // namespace vfs::host
