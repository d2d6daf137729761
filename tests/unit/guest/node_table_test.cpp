// ukfuse's NodeTable: every LOOKUP the server counted comes back as exactly one FORGET
// count when the node's last pin goes; the root is never counted or forgotten; a full
// table refuses instead of overwriting a node someone still holds.
#include "lib/ukfuse/node_table.h"

#include <gtest/gtest.h>

#include <memory>

namespace vfs::guest::ukfuse {
namespace {

TEST(NodeTable, LastUnpinReturnsEveryLookupCounted) {
    auto t = std::make_unique<NodeTable>();
    ASSERT_NE(t->add_lookup(7), nullptr);
    ASSERT_NE(t->add_lookup(7), nullptr);  // the server counted two lookups of node 7
    EXPECT_TRUE(t->pin(7));                // an open file, say
    EXPECT_EQ(t->live(), 1u);
    EXPECT_EQ(t->held_lookups(), 2u);
    EXPECT_EQ(t->unpin(7), 0u);
    EXPECT_EQ(t->unpin(7), 0u);
    EXPECT_EQ(t->unpin(7), 2u);  // the last pin: forget both lookups
    EXPECT_EQ(t->find(7), nullptr);
    EXPECT_EQ(t->live(), 0u);
    EXPECT_EQ(t->held_lookups(), 0u);
    EXPECT_EQ(t->unpin(7), 0u);  // a stray unpin forgets nothing twice
}

TEST(NodeTable, TheRootIsNeverCountedOrForgotten) {
    auto t = std::make_unique<NodeTable>();
    ASSERT_NE(t->add_root(FUSE_ROOT_ID), nullptr);
    ASSERT_NE(t->add_lookup(FUSE_ROOT_ID), nullptr);  // a LOOKUP of ".." at the root
    EXPECT_TRUE(t->pin(FUSE_ROOT_ID));
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(t->unpin(FUSE_ROOT_ID), 0u);
    EXPECT_NE(t->find(FUSE_ROOT_ID), nullptr);
    EXPECT_EQ(t->held_lookups(), 0u);
}

TEST(NodeTable, AFullTableRefusesAndKeepsWhatItHolds) {
    auto t = std::make_unique<NodeTable>();
    for (uint64_t id = 2; id < 2 + NodeTable::kCapacity; ++id)
        ASSERT_NE(t->add_lookup(id), nullptr) << id;
    EXPECT_EQ(t->add_lookup(100000), nullptr);
    EXPECT_EQ(t->live(), NodeTable::kCapacity);
    EXPECT_NE(t->add_lookup(2), nullptr);  // one already held still counts
    EXPECT_EQ(t->unpin(2), 0u);
    EXPECT_EQ(t->unpin(2), 2u);
    EXPECT_NE(t->add_lookup(100000), nullptr);  // its slot is free now
    EXPECT_EQ(t->add_lookup(0), nullptr);       // node id 0 is never a node
}

}  // namespace
}  // namespace vfs::guest::ukfuse
