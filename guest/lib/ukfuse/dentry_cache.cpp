// Dentry cache storage (see dentry_cache.h).
#include "lib/ukfuse/dentry_cache.h"

namespace vfs::guest::ukfuse {

Dentry* DentryCache::find(uint64_t parent, const char* name, uint32_t len) {
    if (parent == 0 || len == 0 || len > kNameMax) return nullptr;
    for (Dentry& e : entries_) {
        if (e.parent == parent && e.len == len && __builtin_memcmp(e.name, name, len) == 0)
            return &e;
    }
    return nullptr;
}

Dentry* DentryCache::take(uint64_t* evicted) {
    *evicted = 0;
    Dentry* oldest = &entries_[0];
    for (Dentry& e : entries_) {
        if (e.parent == 0) return &e;
        if (e.last_use < oldest->last_use) oldest = &e;
    }
    *evicted = remove(oldest);
    return oldest;
}

uint64_t DentryCache::remove(Dentry* e) {
    const uint64_t child = e->child;
    *e = Dentry{};
    return child;
}

uint32_t DentryCache::size() const {
    uint32_t n = 0;
    for (const Dentry& e : entries_)
        n += e.parent != 0;
    return n;
}

}  // namespace vfs::guest::ukfuse
