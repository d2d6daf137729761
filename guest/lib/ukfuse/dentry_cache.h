// A small cache of (parent nodeid, name) -> child nodeid, each entry valid until the
// deadline the server's entry timeout gave. It is storage only: every entry pins its
// child in the NodeTable, and whoever removes or evicts an entry gets the child back to
// unpin. Names longer than kNameMax are simply not cached. Fixed size; never allocates.
#pragma once

#include <stdint.h>

namespace vfs::guest::ukfuse {

struct Dentry {
    uint64_t parent = 0;  // 0: free entry
    uint64_t child = 0;
    uint64_t deadline = 0;  // poll-clock ns
    uint64_t last_use = 0;
    uint8_t len = 0;
    char name[48] = {};
};

class DentryCache {
  public:
    static constexpr uint32_t kCapacity = 128;
    static constexpr uint32_t kNameMax = sizeof(Dentry::name);

    Dentry* find(uint64_t parent, const char* name, uint32_t len);
    // An entry to fill for a new name: a free one, else the least recently used, whose
    // child is stored in *evicted (0 if none) for the caller to unpin.
    Dentry* take(uint64_t* evicted);
    // Frees e; returns its child to unpin.
    uint64_t remove(Dentry* e);
    void touch(Dentry* e) { e->last_use = ++clock_; }

    uint32_t size() const;
    Dentry* at(uint32_t i) { return &entries_[i]; }

  private:
    Dentry entries_[kCapacity];
    uint64_t clock_ = 0;
};

}  // namespace vfs::guest::ukfuse
