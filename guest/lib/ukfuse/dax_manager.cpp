// DAX range cache: lookup, LRU eviction, batched REMOVEMAPPING (see dax_manager.h).
#include "lib/ukfuse/dax_manager.h"

#include <linux/errno.h>

namespace vfs::guest::ukfuse {
namespace {

constexpr uint64_t kPageSize = 4096;

uint64_t min_u64(uint64_t a, uint64_t b) {
    return a < b ? a : b;
}

}  // namespace

DaxManager::~DaxManager() {
    delete[] ranges_;
    delete[] buckets_;
}

wire::Status DaxManager::init(DaxWindow* window, uint32_t evict_batch) {
    if (window_ || !window || !window->base()) return wire::Error{EINVAL};
    const uint64_t n = window->size() / kDaxRangeSize;
    if (n == 0 || n > (1u << 24)) return wire::Error{EINVAL};
    count_ = static_cast<uint32_t>(n);
    uint32_t nb = 1;
    while (nb < 2 * count_)
        nb <<= 1;
    ranges_ = new Range[count_];
    buckets_ = new uint32_t[nb];
    if (!ranges_ || !buckets_) return wire::Error{ENOMEM};
    bucket_mask_ = nb - 1;
    for (uint32_t b = 0; b < nb; ++b)
        buckets_[b] = kNone;
    // Free list in window order, so a fresh window fills from its start.
    for (uint32_t i = count_; i-- > 0;)
        push_front(free_, i);
    evict_batch_ = evict_batch ? evict_batch : count_ / 8;
    if (evict_batch_ == 0) evict_batch_ = 1;
    if (evict_batch_ > kMaxRemoveMappingBatch) evict_batch_ = kMaxRemoveMappingBatch;
    if (evict_batch_ > count_) evict_batch_ = count_;
    window_ = window;
    base_ = window->base();
    return {};
}

uint32_t DaxManager::bucket(uint64_t nodeid, uint64_t findex) const {
    uint64_t h = nodeid * 0x9e3779b97f4a7c15ull ^ (findex + 0x632be59bd9b4e019ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return static_cast<uint32_t>(h >> 32) & bucket_mask_;
}

uint32_t DaxManager::find(uint64_t nodeid, uint64_t findex) const {
    for (uint32_t i = buckets_[bucket(nodeid, findex)]; i != kNone; i = ranges_[i].chain) {
        if (ranges_[i].nodeid == nodeid && ranges_[i].findex == findex) return i;
    }
    return kNone;
}

void DaxManager::hash_insert(uint32_t i) {
    uint32_t& head = buckets_[bucket(ranges_[i].nodeid, ranges_[i].findex)];
    ranges_[i].chain = head;
    head = i;
}

void DaxManager::hash_remove(uint32_t i) {
    uint32_t* p = &buckets_[bucket(ranges_[i].nodeid, ranges_[i].findex)];
    while (*p != kNone && *p != i)
        p = &ranges_[*p].chain;
    if (*p == i) *p = ranges_[i].chain;
    ranges_[i].chain = kNone;
}

void DaxManager::push_front(List& l, uint32_t i) {
    Range& r = ranges_[i];
    r.prev = kNone;
    r.next = l.head;
    if (l.head != kNone) ranges_[l.head].prev = i;
    l.head = i;
    if (l.tail == kNone) l.tail = i;
    ++l.size;
}

void DaxManager::unlink(List& l, uint32_t i) {
    Range& r = ranges_[i];
    if (r.prev != kNone)
        ranges_[r.prev].next = r.next;
    else
        l.head = r.next;
    if (r.next != kNone)
        ranges_[r.next].prev = r.prev;
    else
        l.tail = r.prev;
    r.prev = r.next = kNone;
    --l.size;
}

wire::Status DaxManager::remove_batch(List& from, uint32_t n) {
    uint32_t taken[kMaxRemoveMappingBatch];
    uint32_t count = 0;
    if (n > kMaxRemoveMappingBatch) n = kMaxRemoveMappingBatch;
    while (count < n && from.tail != kNone) {
        const uint32_t i = from.tail;
        unlink(from, i);
        if (ranges_[i].state == State::kMapped) {
            hash_remove(i);
            ++stats_.evictions;
        }
        ranges_[i].state = State::kFree;
        ranges_[i].writable = false;
        push_front(free_, i);
        taken[count++] = i;
    }
    live_ -= count;
    stats_.ranges_unmapped += count;
    // One REMOVEMAPPING per node among them. Whatever the answers, the ranges are free
    // here: a later SETUPMAPPING replaces any mapping the server kept.
    wire::Status result;
    for (uint32_t first = 0; first < count; ++first) {
        if (taken[first] == kNone) continue;
        const uint64_t nodeid = ranges_[taken[first]].nodeid;
        uint32_t k = 0;
        for (uint32_t j = first; j < count; ++j) {
            if (taken[j] == kNone || ranges_[taken[j]].nodeid != nodeid) continue;
            batch_[k].moffset = uint64_t{taken[j]} * kDaxRangeSize;
            batch_[k].len = ranges_[taken[j]].len;
            ++k;
            taken[j] = kNone;
        }
        ++stats_.removemapping_msgs;
        wire::Status s = window_->unmap(nodeid, batch_, k);
        if (!s) {
            ++stats_.errors;
            if (result) result = s;
        }
    }
    return result;
}

wire::Result<uint32_t> DaxManager::take_free() {
    if (free_.size == 0 && lru_.size > 0) (void)remove_batch(lru_, evict_batch_);
    if (free_.size == 0) return wire::Error{ENOBUFS};
    const uint32_t i = free_.head;
    unlink(free_, i);
    return i;
}

wire::Result<uint8_t*> DaxManager::access(uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len,
                                          bool write, uint64_t file_size, uint64_t* avail) {
    if (!window_) return wire::Error{ENODEV};
    const uint64_t findex = off / kDaxRangeSize;
    const uint64_t start = findex * kDaxRangeSize;
    const uint64_t in_range = off % kDaxRangeSize;
    if (file_size <= start) return wire::Error{ENXIO};
    uint64_t want = min_u64(file_size - start, kDaxRangeSize) & ~(kPageSize - 1);
    if (want <= in_range) return wire::Error{ENXIO};  // the file's last partial page
    uint32_t i = find(nodeid, findex);
    if (i != kNone) {
        Range& r = ranges_[i];
        const bool upgrade = write && !r.writable;
        if (upgrade || r.len <= in_range) {
            // Map the same range again in place, read-write or longer (as Linux's upgrade).
            const bool w = write || r.writable;
            if (want < r.len) want = r.len;
            wire::Status s = window_->map(nodeid, fh, start, want, uint64_t{i} * kDaxRangeSize, w);
            if (!s) {
                // The server may have taken the old mapping out before failing: forget
                // the range (a later SETUPMAPPING replaces whatever is left there).
                ++stats_.errors;
                unlink(lru_, i);
                hash_remove(i);
                r.state = State::kFree;
                r.writable = false;
                push_front(free_, i);
                --live_;
                return wire::Error{s.error()};
            }
            r.writable = w;
            r.len = want;
            ++(upgrade ? stats_.upgrades : stats_.maps);
        } else {
            ++stats_.hits;
        }
        if (lru_.head != i) {
            unlink(lru_, i);
            push_front(lru_, i);
        }
    } else {
        auto got = take_free();
        if (!got) return wire::Error{got.error()};
        i = *got;
        wire::Status s = window_->map(nodeid, fh, start, want, uint64_t{i} * kDaxRangeSize, write);
        if (!s) {
            ++stats_.errors;
            push_front(free_, i);
            return wire::Error{s.error()};
        }
        Range& r = ranges_[i];
        r.nodeid = nodeid;
        r.findex = findex;
        r.len = want;
        r.state = State::kMapped;
        r.writable = write;
        hash_insert(i);
        push_front(lru_, i);
        ++live_;
        ++stats_.maps;
    }
    *avail = min_u64(len, ranges_[i].len - in_range);
    return base_ + uint64_t{i} * kDaxRangeSize + in_range;
}

wire::Result<uint64_t> DaxManager::read(uint64_t nodeid, uint64_t fh, uint64_t off, void* buf,
                                        uint64_t len, uint64_t file_size) {
    auto* out = static_cast<uint8_t*>(buf);
    uint64_t done = 0;
    while (done < len) {
        uint64_t n = 0;
        auto p = access(nodeid, fh, off + done, len - done, false, file_size, &n);
        if (!p) {
            if (done == 0) return wire::Error{p.error()};
            break;
        }
        __builtin_memcpy(out + done, *p, n);
        done += n;
    }
    return done;
}

wire::Result<uint64_t> DaxManager::write(uint64_t nodeid, uint64_t fh, uint64_t off,
                                         const void* buf, uint64_t len, uint64_t file_size) {
    const auto* in = static_cast<const uint8_t*>(buf);
    uint64_t done = 0;
    while (done < len) {
        uint64_t n = 0;
        auto p = access(nodeid, fh, off + done, len - done, true, file_size, &n);
        if (!p) {
            if (done == 0) return wire::Error{p.error()};
            break;
        }
        __builtin_memcpy(*p, in + done, n);
        done += n;
    }
    return done;
}

wire::Status DaxManager::forget_node(uint64_t nodeid) {
    if (!window_) return {};
    for (uint32_t i = lru_.head; i != kNone;) {
        const uint32_t next = ranges_[i].next;
        if (ranges_[i].nodeid == nodeid) {
            unlink(lru_, i);
            hash_remove(i);
            ranges_[i].state = State::kForgotten;
            push_front(forgotten_, i);
        }
        i = next;
    }
    wire::Status result;
    while (forgotten_.size > 0) {
        wire::Status s = remove_batch(forgotten_, forgotten_.size);
        if (!s && result) result = s;
    }
    return result;
}

wire::Status DaxManager::unmap_all() {
    wire::Status result;
    while (window_ && lru_.size > 0) {
        wire::Status s = remove_batch(lru_, lru_.size);
        if (!s && result) result = s;
    }
    return result;
}

}  // namespace vfs::guest::ukfuse
