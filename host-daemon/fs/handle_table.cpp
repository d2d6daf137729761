#include "fs/handle_table.h"

#include <algorithm>

namespace vfs::host {

uint64_t HandleTable::add(HandleRef h) {
    std::lock_guard lock(mu_);
    const uint64_t fh = next_++;
    handles_.emplace(fh, std::move(h));
    return fh;
}

HandleRef HandleTable::get(uint64_t fh) const {
    std::lock_guard lock(mu_);
    auto it = handles_.find(fh);
    return it == handles_.end() ? nullptr : it->second;
}

HandleRef HandleTable::remove(uint64_t fh, bool dir) {
    std::lock_guard lock(mu_);
    auto it = handles_.find(fh);
    if (it == handles_.end() || it->second->is_dir != dir) return nullptr;
    HandleRef h = std::move(it->second);
    handles_.erase(it);
    return h;
}

void HandleTable::clear() {
    std::lock_guard lock(mu_);
    handles_.clear();
}

uint64_t HandleTable::next_fh() const {
    std::lock_guard lock(mu_);
    return next_;
}

bool HandleTable::restore(uint64_t fh, HandleRef h, uint64_t next_fh) {
    std::lock_guard lock(mu_);
    if (fh == 0 || handles_.count(fh)) return false;
    next_ = std::max({next_, next_fh, fh + 1});
    handles_.emplace(fh, std::move(h));
    return true;
}

size_t HandleTable::size() const {
    std::lock_guard lock(mu_);
    return handles_.size();
}

}  // namespace vfs::host
