// The FUSE nodes the client holds, keyed by nodeid: how many LOOKUP references the server
// counted for each (what a FORGET must give back), who still uses it here (pins: dentry
// cache entries, open files, path walks), and its attributes with their expiry.
//
// A node leaves the table the moment its last pin goes, and the caller must then send
// a FORGET for exactly the returned count: that is how every lookup gets its forget.
// Fixed size; never allocates. The root (nodeid 1) is never counted or forgotten.
#pragma once

#include <linux/fuse.h>
#include <stdint.h>

namespace vfs::guest::ukfuse {

struct Node {
    uint64_t nodeid = 0;  // 0: free entry
    uint64_t nlookup = 0;
    uint32_t pins = 0;
    bool attr_cached = false;
    uint64_t attr_deadline = 0;  // poll-clock ns
    // attr.size is the size as of the last reply, whatever its timeout; nothing here has
    // changed the file's size since (DAX reads and writes use it, as Linux's i_size).
    bool size_known = false;
    fuse_attr attr{};
};

class NodeTable {
  public:
    static constexpr uint32_t kCapacity = 512;

    Node* find(uint64_t nodeid);
    // The server counted one more lookup of nodeid: adds or updates the node and pins it
    // once for the caller. nullptr if the table is full (the caller forgets it at once).
    Node* add_lookup(uint64_t nodeid);
    // The permanent root entry.
    Node* add_root(uint64_t nodeid);
    bool pin(uint64_t nodeid);
    // Drops one pin. When the last goes, the node leaves the table and its lookup count
    // is returned (to forget); otherwise 0.
    uint64_t unpin(uint64_t nodeid);

    uint32_t live() const { return live_; }
    // Sum of the lookup counts still held: 0 once everything has been forgotten.
    uint64_t held_lookups() const;

  private:
    Node nodes_[kCapacity];
    uint32_t live_ = 0;
};

}  // namespace vfs::guest::ukfuse
