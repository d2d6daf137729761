// ukfuse's DentryCache on its own (matching, LRU eviction, removal), and through a
// Session against a server that counts lookups (tree_fs.h): however entries come and go,
// every lookup the server counted is forgotten once the session shuts down.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "drivers/virtio_fs/fs_device.h"
#include "lib/ukfuse/dentry_cache.h"
#include "lib/ukfuse/session.h"
#include "tree_fs.h"

namespace vfs::guest {
namespace {

using ukfuse::Dentry;
using ukfuse::DentryCache;

Dentry* put_entry(DentryCache& c, uint64_t parent, const char* name, uint64_t child,
                  uint64_t* evicted) {
    Dentry* d = c.take(evicted);
    d->parent = parent;
    d->child = child;
    d->len = static_cast<uint8_t>(std::strlen(name));
    std::memcpy(d->name, name, d->len);
    c.touch(d);
    return d;
}

TEST(DentryCache, FindsOnlyTheExactParentAndName) {
    DentryCache c;
    uint64_t ev = 1;
    Dentry* d = put_entry(c, 5, "ab", 9, &ev);
    EXPECT_EQ(ev, 0u);
    EXPECT_EQ(c.find(5, "ab", 2), d);
    EXPECT_EQ(c.find(6, "ab", 2), nullptr);
    EXPECT_EQ(c.find(5, "a", 1), nullptr);
    EXPECT_EQ(c.find(5, "abc", 3), nullptr);
    EXPECT_EQ(c.find(5, "ax", 2), nullptr);
    EXPECT_EQ(c.find(0, "", 0), nullptr);  // a free entry is never a match
    EXPECT_EQ(c.size(), 1u);
}

// A full cache evicts the entry used longest ago, and hands its child back to unpin.
TEST(DentryCache, FullCacheEvictsTheLeastRecentlyUsed) {
    DentryCache c;
    uint64_t ev = 0;
    for (uint32_t i = 0; i < DentryCache::kCapacity; ++i) {
        const std::string name = "n" + std::to_string(i);
        put_entry(c, 1, name.c_str(), 100 + i, &ev);
        ASSERT_EQ(ev, 0u) << i;
    }
    EXPECT_EQ(c.size(), DentryCache::kCapacity);
    c.touch(c.find(1, "n0", 2));  // n0 is now the most recent; n1 the oldest
    put_entry(c, 1, "new", 999, &ev);
    EXPECT_EQ(ev, 101u);
    EXPECT_EQ(c.find(1, "n1", 2), nullptr);
    EXPECT_NE(c.find(1, "n0", 2), nullptr);
    put_entry(c, 1, "newer", 998, &ev);
    EXPECT_EQ(ev, 102u);
    EXPECT_EQ(c.size(), DentryCache::kCapacity);
}

TEST(DentryCache, RemoveGivesBackTheChildAndFreesTheEntry) {
    DentryCache c;
    uint64_t ev = 0;
    Dentry* d = put_entry(c, 3, "x", 42, &ev);
    EXPECT_EQ(c.remove(d), 42u);
    EXPECT_EQ(c.find(3, "x", 1), nullptr);
    EXPECT_EQ(c.size(), 0u);
    EXPECT_EQ(c.take(&ev), d);  // free again, and nothing to evict
    EXPECT_EQ(ev, 0u);
}

// --- through a Session -------------------------------------------------------------

class DentryBalance : public ::testing::Test {
  protected:
    void start() {
        transport_ = std::make_unique<testing::FakeFsTransport>(
            [this](const testing::FakeRequest& rq) { return fs_(rq); });
        virtio_fs::DeviceOptions d;
        d.timeout_ns = 300'000'000ull;
        ASSERT_TRUE(dev_.probe(*transport_, dma_, d));
        ASSERT_TRUE(session_.init(dev_));
    }
    // Looks every name up, twice, and gives each pin back at once.
    void lookup_all(uint64_t parent, uint32_t n) {
        for (int round = 0; round < 2; ++round) {
            for (uint32_t i = 0; i < n; ++i) {
                const std::string name = "f" + std::to_string(i);
                auto e = session_.lookup(parent, name.data(), static_cast<uint32_t>(name.size()));
                ASSERT_TRUE(e) << name << ": " << e.error();
                session_.put(e->nodeid);
            }
        }
    }
    void expect_balanced_after_shutdown() {
        ASSERT_TRUE(session_.shutdown());
        EXPECT_EQ(fs_.outstanding(), 0) << "lookups never forgotten";
        EXPECT_FALSE(fs_.over_forgotten());
        EXPECT_EQ(session_.held_lookups(), 0u);
    }

    testing::TreeFs fs_;
    testing::HostDma dma_;
    std::unique_ptr<testing::FakeFsTransport> transport_;
    virtio_fs::FsDevice dev_;
    ukfuse::Session session_;
};

// Fewer names than the cache holds: the second round is answered from the cache.
TEST_F(DentryBalance, CachedLookupsAreForgottenAtShutdown) {
    const uint64_t d = fs_.dir(FUSE_ROOT_ID, "d");
    for (int i = 0; i < 20; ++i)
        fs_.file(d, "f" + std::to_string(i));
    start();
    auto de = session_.lookup(ukfuse::kRootId, "d", 1);
    ASSERT_TRUE(de);
    lookup_all(de->nodeid, 20);
    session_.put(de->nodeid);
    EXPECT_EQ(fs_.lookups_served(), 21u) << "the second round should hit the cache";
    EXPECT_GT(fs_.outstanding(), 0);  // the cache holds them until shutdown
    expect_balanced_after_shutdown();
}

// More names than the cache holds: evictions forget as they go, shutdown the rest.
TEST_F(DentryBalance, EvictedAndCachedLookupsAreAllForgotten) {
    const uint32_t n = DentryCache::kCapacity + 72;
    for (uint32_t i = 0; i < n; ++i)
        fs_.file(FUSE_ROOT_ID, "f" + std::to_string(i));
    start();
    lookup_all(ukfuse::kRootId, n);
    expect_balanced_after_shutdown();
}

// Entries with no timeout are never cached: each pin's release forgets at once.
TEST_F(DentryBalance, UncachedLookupsAreForgottenAsTheyGo) {
    fs_.entry_valid_sec = 0;
    for (uint32_t i = 0; i < 10; ++i)
        fs_.file(FUSE_ROOT_ID, "f" + std::to_string(i));
    start();
    lookup_all(ukfuse::kRootId, 10);
    ASSERT_TRUE(session_.flush_forgets());
    EXPECT_EQ(fs_.lookups_served(), 20u);
    EXPECT_EQ(fs_.outstanding(), 0);
    expect_balanced_after_shutdown();
}

}  // namespace
}  // namespace vfs::guest
