// Node bookkeeping (see node_table.h).
#include "lib/ukfuse/node_table.h"

namespace vfs::guest::ukfuse {
namespace {
constexpr uint32_t kRootPins = 0x40000000;  // never reaches zero
}

Node* NodeTable::find(uint64_t nodeid) {
    if (nodeid == 0) return nullptr;
    for (Node& n : nodes_) {
        if (n.nodeid == nodeid) return &n;
    }
    return nullptr;
}

Node* NodeTable::add_lookup(uint64_t nodeid) {
    if (nodeid == 0) return nullptr;
    Node* n = find(nodeid);
    if (!n) {
        for (Node& f : nodes_) {
            if (f.nodeid == 0) {
                n = &f;
                break;
            }
        }
        if (!n) return nullptr;
        *n = Node{};
        n->nodeid = nodeid;
        ++live_;
    }
    if (n->pins < kRootPins) ++n->nlookup;  // the root's lookups are never forgotten
    ++n->pins;
    return n;
}

Node* NodeTable::add_root(uint64_t nodeid) {
    Node* n = add_lookup(nodeid);
    if (!n) return nullptr;
    n->nlookup = 0;
    n->pins = kRootPins;
    return n;
}

bool NodeTable::pin(uint64_t nodeid) {
    Node* n = find(nodeid);
    if (!n) return false;
    if (n->pins < kRootPins) ++n->pins;
    return true;
}

uint64_t NodeTable::unpin(uint64_t nodeid) {
    Node* n = find(nodeid);
    if (!n || n->pins == 0 || n->pins >= kRootPins) return 0;
    if (--n->pins > 0) return 0;
    const uint64_t count = n->nlookup;
    *n = Node{};
    --live_;
    return count;
}

uint64_t NodeTable::held_lookups() const {
    uint64_t sum = 0;
    for (const Node& n : nodes_)
        sum += n.nlookup;
    return sum;
}

}  // namespace vfs::guest::ukfuse
