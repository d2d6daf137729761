// The guest's DAX policy over a DaxWindow (dax_window.h), after Linux fs/fuse/dax.c:
// the window is cut into 2 MiB ranges; each maps one 2 MiB-aligned range of one file.
// A range stays mapped after use (a mapping cache keyed by node and file range) and is
// reused by the next access; when none is free, the least recently used ones are evicted,
// several in one FUSE_REMOVEMAPPING. A range is mapped read-only until a write needs it,
// which maps it again read-write in place. So any working set works with any window of at
// least one range, only slower when it does not fit.
//
// The caller keeps every access inside the file's size (a window page past EOF is not
// backed: the host faults). Single-threaded. Allocates its tables in init() only.
#pragma once

#include <stdint.h>

#include "lib/ukfuse/dax_window.h"
#include "vfs/wire/result.h"

namespace vfs::guest::ukfuse {

inline constexpr uint64_t kDaxRangeSize = 2ull << 20;

struct DaxStats {
    uint64_t hits = 0;                // accesses served by a live mapping
    uint64_t maps = 0;                // SETUPMAPPING sent for a new mapping
    uint64_t upgrades = 0;            // SETUPMAPPING sent to make a mapping writable
    uint64_t evictions = 0;           // ranges taken from a live mapping for another
    uint64_t ranges_unmapped = 0;     // ranges given back by REMOVEMAPPING
    uint64_t removemapping_msgs = 0;  // REMOVEMAPPING requests
    uint64_t errors = 0;              // failed SETUPMAPPING/REMOVEMAPPING
};

class DaxManager {
  public:
    DaxManager() = default;
    DaxManager(const DaxManager&) = delete;
    DaxManager& operator=(const DaxManager&) = delete;
    ~DaxManager();

    // evict_batch: ranges evicted per REMOVEMAPPING when the window is full (0: an eighth
    // of the window, at least 1). EINVAL if the window holds no whole range.
    wire::Status init(DaxWindow* window, uint32_t evict_batch = 0);
    bool ready() const { return window_ != nullptr; }
    uint32_t ranges() const { return count_; }
    uint32_t live() const { return live_; }
    const DaxStats& stats() const { return stats_; }

    // Where [off, off + *avail) of the file is in the window, mapped (writable if write)
    // now if it was not; *avail = min(len, the rest of off's 2 MiB range). The pointer is
    // good until the next call. An error (the window's or ENOBUFS) means "use FUSE".
    // file_size bounds the mapping: only whole pages inside the file are mapped (QEMU
    // 11.1 refuses a SHMEM_MAP past the end of the file), so a byte in the file's last
    // partial page is ENXIO (FUSE serves it); a range mapped short is mapped again longer
    // when the file has grown.
    wire::Result<uint8_t*> access(uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len,
                                  bool write, uint64_t file_size, uint64_t* avail);
    // Copies through the window; the caller has clamped [off, off + len) to the file.
    // The count done, or the first error if nothing was done.
    wire::Result<uint64_t> read(uint64_t nodeid, uint64_t fh, uint64_t off, void* buf, uint64_t len,
                                uint64_t file_size);
    wire::Result<uint64_t> write(uint64_t nodeid, uint64_t fh, uint64_t off, const void* buf,
                                 uint64_t len, uint64_t file_size);

    // The node is about to be forgotten: REMOVEMAPPING for its ranges now, before the
    // FORGET (as Linux on inode eviction), so the server still knows the node; its id may
    // later name another file.
    wire::Status forget_node(uint64_t nodeid);
    // Unmaps every range (session shutdown, tests).
    wire::Status unmap_all();

  private:
    static constexpr uint32_t kNone = UINT32_MAX;
    enum class State : uint8_t { kFree, kMapped, kForgotten };
    struct Range {
        uint64_t nodeid = 0;
        uint64_t findex = 0;  // file offset / kDaxRangeSize
        uint64_t len = 0;     // bytes mapped from the range's start (whole pages)
        State state = State::kFree;
        bool writable = false;
        uint32_t prev = kNone, next = kNone;  // LRU list (mapped) or free/forgotten list
        uint32_t chain = kNone;               // hash bucket chain (mapped only)
    };
    struct List {
        uint32_t head = kNone, tail = kNone;  // head: most recently used
        uint32_t size = 0;
    };

    uint32_t bucket(uint64_t nodeid, uint64_t findex) const;
    uint32_t find(uint64_t nodeid, uint64_t findex) const;
    void hash_insert(uint32_t i);
    void hash_remove(uint32_t i);
    void push_front(List& l, uint32_t i);
    void unlink(List& l, uint32_t i);
    // A free range, evicting (or flushing forgotten ranges) when there is none.
    wire::Result<uint32_t> take_free();
    // REMOVEMAPPING for up to kMaxRemoveMappingBatch ranges taken from the tail of `from`;
    // they join the free list whatever the answer.
    wire::Status remove_batch(List& from, uint32_t n);

    DaxWindow* window_ = nullptr;
    uint8_t* base_ = nullptr;
    uint32_t count_ = 0;
    uint32_t evict_batch_ = 1;
    uint32_t live_ = 0;  // mapped or forgotten: what the host still maps
    Range* ranges_ = nullptr;
    uint32_t* buckets_ = nullptr;
    uint32_t bucket_mask_ = 0;
    List lru_, free_, forgotten_;
    DaxStats stats_;
    fuse_removemapping_one batch_[kMaxRemoveMappingBatch] = {};
};

}  // namespace vfs::guest::ukfuse
