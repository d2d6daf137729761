// A fake FUSE server over a small in-memory tree (directories, files, symlinks) for the
// fake device (fake_fs_transport.h), that keeps the server's side of the lookup count:
// every LOOKUP reply adds one to the node's count, every FORGET and BATCH_FORGET takes
// its nlookup off. After a client shuts down, every count must be back at zero.
#pragma once

#include <linux/fuse.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fake_fs_transport.h"
#include "lib/ukfuse/file_type.h"

namespace vfs::guest::testing {

class TreeFs {
  public:
    // Children of the root are added with parent FUSE_ROOT_ID. Returns the nodeid.
    uint64_t dir(uint64_t parent, const std::string& name) {
        return add(parent, name, ukfuse::kTypeDir | 0755, "");
    }
    uint64_t file(uint64_t parent, const std::string& name) {
        return add(parent, name, ukfuse::kTypeReg | 0644, "");
    }
    uint64_t symlink(uint64_t parent, const std::string& name, const std::string& target) {
        return add(parent, name, ukfuse::kTypeLink | 0777, target);
    }

    // Lookups the server counted and no forget has given back yet, over all nodes.
    int64_t outstanding() const {
        int64_t n = 0;
        for (auto& [id, count] : lookups_)
            n += count;
        return n;
    }
    // True if a forget gave back more than was counted for some node.
    bool over_forgotten() const { return over_forgotten_; }
    uint32_t lookups_served() const { return lookups_served_; }
    uint32_t readlinks_served() const { return readlinks_served_; }
    uint64_t entry_valid_sec = 60;  // the dentry timeout replies carry

    FakeReply operator()(const FakeRequest& rq) {
        const uint64_t u = rq.in.unique;
        switch (rq.in.opcode) {
            case FUSE_INIT:
                return init_reply(rq, 32);
            case FUSE_LOOKUP: {
                const std::string name(reinterpret_cast<const char*>(rq.body.data()));
                for (const Node& n : nodes_) {
                    if (n.parent != rq.in.nodeid || n.name != name) continue;
                    ++lookups_served_;
                    ++lookups_[n.id];
                    fuse_entry_out e = entry_for(n);
                    return FakeReply::ok(u, &e, sizeof(e));
                }
                return FakeReply::error(u, ENOENT);
            }
            case FUSE_GETATTR: {
                fuse_attr_out a{};
                const Node* n = find(rq.in.nodeid);
                a.attr = n ? entry_for(*n).attr : root_attr();
                return FakeReply::ok(u, &a, sizeof(a));
            }
            case FUSE_READLINK: {
                const Node* n = find(rq.in.nodeid);
                if (!n || n->target.empty()) return FakeReply::error(u, EINVAL);
                ++readlinks_served_;
                return FakeReply::ok(u, n->target.data(), n->target.size());
            }
            case FUSE_FORGET:
                forget(rq.in.nodeid, rq.arg<fuse_forget_in>().nlookup);
                return FakeReply::ok(u);
            case FUSE_BATCH_FORGET: {
                const auto in = rq.arg<fuse_batch_forget_in>();
                for (uint32_t i = 0; i < in.count; ++i) {
                    fuse_forget_one f{};
                    const size_t off = sizeof(in) + i * sizeof(f);
                    if (off + sizeof(f) > rq.body.size()) break;
                    std::memcpy(&f, rq.body.data() + off, sizeof(f));
                    forget(f.nodeid, f.nlookup);
                }
                return FakeReply::ok(u);
            }
            default:
                return FakeReply::ok(u);
        }
    }

  private:
    struct Node {
        uint64_t id = 0, parent = 0;
        std::string name;
        uint32_t mode = 0;
        std::string target;
    };

    uint64_t add(uint64_t parent, const std::string& name, uint32_t mode,
                 const std::string& target) {
        const uint64_t id = next_id_++;
        nodes_.push_back(Node{id, parent, name, mode, target});
        return id;
    }
    const Node* find(uint64_t id) const {
        for (const Node& n : nodes_)
            if (n.id == id) return &n;
        return nullptr;
    }
    fuse_entry_out entry_for(const Node& n) const {
        fuse_entry_out e{};
        e.nodeid = n.id;
        e.entry_valid = entry_valid_sec;
        e.attr_valid = entry_valid_sec;
        e.attr.ino = n.id;
        e.attr.mode = n.mode;
        e.attr.nlink = 1;
        e.attr.size = n.target.size();
        return e;
    }
    static fuse_attr root_attr() {
        fuse_attr a{};
        a.ino = FUSE_ROOT_ID;
        a.mode = ukfuse::kTypeDir | 0755;
        a.nlink = 2;
        return a;
    }
    void forget(uint64_t id, uint64_t nlookup) {
        int64_t& c = lookups_[id];
        c -= static_cast<int64_t>(nlookup);
        if (c < 0) over_forgotten_ = true;
    }

    std::vector<Node> nodes_;
    uint64_t next_id_ = FUSE_ROOT_ID + 1;
    std::map<uint64_t, int64_t> lookups_;
    bool over_forgotten_ = false;
    uint32_t lookups_served_ = 0, readlinks_served_ = 0;
};

}  // namespace vfs::guest::testing
