#include "fs/inode_table.h"

#include <linux/fuse.h>

namespace vfs::host {

void InodeTable::set_root(InodeKey key, mode_t type, UniqueFd fd) {
    auto root = std::make_shared<Inode>();
    root->nodeid = FUSE_ROOT_ID;
    root->key = key;
    root->type = type;
    root->fd = std::move(fd);
    root->nlookup = 1;  // never reaches zero: FORGET on the root is ignored
    std::unique_lock lock(mu_);
    by_id_[FUSE_ROOT_ID] = root;
    by_key_[key] = FUSE_ROOT_ID;
}

InodeRef InodeTable::get(uint64_t nodeid) const {
    std::shared_lock lock(mu_);
    auto it = by_id_.find(nodeid);
    return it == by_id_.end() ? nullptr : it->second;
}

InodeRef InodeTable::add_lookup(InodeKey key, mode_t type, UniqueFd fd,
                                std::optional<FileHandle> handle) {
    std::unique_lock lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        InodeRef& existing = by_id_.at(it->second);
        ++existing->nlookup;
        return existing;
    }
    auto inode = std::make_shared<Inode>();
    inode->nodeid = next_id_++;
    inode->key = key;
    inode->type = type;
    inode->fd = std::move(fd);
    inode->handle = handle;
    inode->nlookup = 1;
    by_id_[inode->nodeid] = inode;
    by_key_[key] = inode->nodeid;
    return inode;
}

void InodeTable::forget(uint64_t nodeid, uint64_t n) {
    if (nodeid == FUSE_ROOT_ID) return;
    std::unique_lock lock(mu_);
    auto it = by_id_.find(nodeid);
    if (it == by_id_.end()) return;
    Inode& inode = *it->second;
    inode.nlookup = n >= inode.nlookup ? 0 : inode.nlookup - n;
    if (inode.nlookup == 0) {
        by_key_.erase(inode.key);
        by_id_.erase(it);  // the fd closes when the last in-flight user drops its ref
    }
}

size_t InodeTable::size() const {
    std::shared_lock lock(mu_);
    return by_id_.size();
}

}  // namespace vfs::host
