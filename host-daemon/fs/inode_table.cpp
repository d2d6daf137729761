#include "fs/inode_table.h"

#include <linux/fuse.h>

#include <algorithm>
#include <cstring>

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

namespace {
bool same_handle(const FileHandle& a, const FileHandle& b) {
    return a.type == b.type && a.size == b.size && std::memcmp(a.bytes, b.bytes, a.size) == 0;
}
}  // namespace

InodeRef InodeTable::add_lookup(InodeKey key, mode_t type, UniqueFd fd,
                                std::optional<FileHandle> handle, FdBudget* budget,
                                FdBudget* handle_budget) {
    std::unique_lock lock(mu_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        InodeRef& existing = by_id_.at(it->second);
        // An inode held by file handle pins nothing, so its number can be reused by a new
        // file before the guest forgets the old one. A different handle means a different
        // file: the old node id stays until FORGET, the key moves to a new inode.
        const bool reused = existing->handle && handle && !same_handle(*existing->handle, *handle);
        if (!reused) {
            ++existing->nlookup;
            return existing;
        }
        by_key_.erase(it);
    }
    FdBudget::Token token;
    if (FdBudget* b = fd.valid() ? budget : handle_budget) {
        token = b->take();
        if (!token) return nullptr;
    }
    auto inode = std::make_shared<Inode>();
    inode->nodeid = next_id_++;
    inode->key = key;
    inode->type = type;
    inode->fd = std::move(fd);
    if (handle) inode->handle = std::make_unique<const FileHandle>(*handle);
    inode->token = std::move(token);
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
        // The key may already name a newer inode (a reused inode number): keep that one.
        if (auto k = by_key_.find(inode.key); k != by_key_.end() && k->second == nodeid)
            by_key_.erase(k);
        by_id_.erase(it);  // the fd closes when the last in-flight user drops its ref
    }
}

void InodeTable::clear_except_root() {
    std::unique_lock lock(mu_);
    InodeRef root = by_id_.at(FUSE_ROOT_ID);
    by_id_.clear();
    by_key_.clear();
    by_id_[FUSE_ROOT_ID] = root;
    by_key_[root->key] = FUSE_ROOT_ID;
}

uint64_t InodeTable::next_id() const {
    std::shared_lock lock(mu_);
    return next_id_;
}

bool InodeTable::restore(InodeRef inode, bool index_key, uint64_t next_id) {
    std::unique_lock lock(mu_);
    if (inode->nodeid <= FUSE_ROOT_ID || by_id_.count(inode->nodeid)) return false;
    if (index_key && !by_key_.count(inode->key)) by_key_[inode->key] = inode->nodeid;
    next_id_ = std::max({next_id_, next_id, inode->nodeid + 1});
    by_id_[inode->nodeid] = std::move(inode);
    return true;
}

size_t InodeTable::size() const {
    std::shared_lock lock(mu_);
    return by_id_.size();
}

}  // namespace vfs::host
