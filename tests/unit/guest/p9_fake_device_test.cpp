// The guest's virtio_9p driver and p9 client against an in-process device
// (fake_9p_transport.h, fake_9p_server.h): well-formed answers work, and every malformed
// one (truncated, counts past the bytes, wrong tag or type, Rlerror, oversized Rread) is
// an error, EPROTO for the malformed, never a crash or a wrong result.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "drivers/virtio_9p/p9_device.h"
#include "fake_9p_server.h"
#include "fake_fs_transport.h"
#include "lib/p9/client.h"

namespace vfs::guest {
namespace {

using testing::Fake9pReply;
using testing::Fake9pServer;

class P9Fake : public ::testing::Test {
  protected:
    void SetUp() override {
        transport_ = std::make_unique<testing::Fake9pTransport>(
            [this](const std::vector<uint8_t>& rq) { return server_(rq); });
        virtio_9p::P9DeviceOptions o;
        o.timeout_ns = 200'000'000ull;
        ASSERT_TRUE(dev_.probe(*transport_, dma_, o));
    }
    void start(uint32_t msize = p9::kDefaultMsize) { ASSERT_TRUE(client_.init(dev_, msize)); }
    // Makes the next reply to `type` go out as mutated by f (once).
    void corrupt(uint8_t type, std::function<void(Fake9pReply&)> f) {
        server_.mutate = [type, f, done = false](uint8_t t, Fake9pReply& r) mutable {
            if (t == type && !done) {
                done = true;
                f(r);
            }
        };
    }
    uint32_t walk_file() {
        const p9::Name n{"f", 1};
        auto fid = client_.walk(p9::kRootFid, &n, 1);
        EXPECT_TRUE(fid) << fid.error();
        return fid ? *fid : 0;
    }

    Fake9pServer server_;
    testing::HostDma dma_;
    std::unique_ptr<testing::Fake9pTransport> transport_;
    virtio_9p::P9Device dev_;
    p9::Client client_;
};

TEST_F(P9Fake, ProbeReadsTheMountTag) {
    EXPECT_STREQ(dev_.tag(), "p9fake");
}

TEST(P9Probe, TagLengthPastTheLimitIsRefused) {
    Fake9pServer server;
    testing::Fake9pTransport t([&](const std::vector<uint8_t>& rq) { return server(rq); });
    t.set_config({0xff, 0xff, 'x'});
    testing::HostDma dma;
    virtio_9p::P9Device dev;
    auto s = dev.probe(t, dma, {});
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), EPROTO);
    EXPECT_TRUE(t.failed());
}

TEST_F(P9Fake, WellFormedSessionReadsWritesListsAndBalancesFids) {
    start();
    const uint32_t fid = walk_file();
    ASSERT_TRUE(client_.lopen(fid, 2));
    std::vector<uint8_t> buf(server_.file.size() + 100);
    auto n = client_.read(fid, 0, buf.data(), buf.size());
    ASSERT_TRUE(n) << n.error();
    ASSERT_EQ(*n, server_.file.size());
    EXPECT_EQ(std::memcmp(buf.data(), server_.file.data(), *n), 0);
    auto w = client_.write(fid, 0, buf.data(), 5000);
    ASSERT_TRUE(w) << w.error();
    EXPECT_EQ(*w, 5000u);
    auto a = client_.getattr(fid);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->size, server_.file.size());
    EXPECT_EQ(a->mode, 0100644u);
    auto sf = client_.statfs(fid);
    ASSERT_TRUE(sf);
    EXPECT_EQ(sf->bsize, 4096u);
    EXPECT_TRUE(client_.clunk(fid));

    auto dir = client_.walk(p9::kRootFid, nullptr, 0);
    ASSERT_TRUE(dir);
    std::vector<uint8_t> dbuf(4096);
    auto len = client_.readdir(*dir, 0, dbuf.data(), 4096);
    ASSERT_TRUE(len);
    p9::DirReader dr(dbuf.data(), *len);
    p9::DirEntry e;
    ASSERT_TRUE(*dr.next(&e));
    EXPECT_EQ(std::string(e.name, e.namelen), "a");
    ASSERT_TRUE(*dr.next(&e));
    EXPECT_EQ(std::string(e.name, e.namelen), "dsub");
    EXPECT_EQ(e.offset, 2u);
    EXPECT_FALSE(*dr.next(&e));
    EXPECT_TRUE(client_.clunk(*dir));
    EXPECT_EQ(client_.fids_in_use(), 1u);
}

TEST_F(P9Fake, MsizeIsNegotiatedDownAndReadsSplitAtIt) {
    server_.max_msize = 8192;
    start();
    EXPECT_EQ(client_.msize(), 8192u);
    const uint32_t fid = walk_file();
    std::vector<uint8_t> buf(server_.file.size());
    const int before = server_.count[p9::kTread];
    auto n = client_.read(fid, 0, buf.data(), buf.size());
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, buf.size());
    const uint32_t per = 8192 - 11;
    EXPECT_EQ(server_.count[p9::kTread] - before, static_cast<int>((buf.size() + per - 1) / per));
    EXPECT_EQ(std::memcmp(buf.data(), server_.file.data(), buf.size()), 0);
}

TEST_F(P9Fake, RversionAboveTheAskedMsizeIsEproto) {
    corrupt(p9::kTversion, [](Fake9pReply& r) { testing::set_le32(r.bytes, 7, 1u << 30); });
    auto s = client_.init(dev_, 65536);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), EPROTO);
}

TEST_F(P9Fake, RlerrorIsItsErrno) {
    start();
    const p9::Name n{"missing", 7};
    auto fid = client_.walk(p9::kRootFid, &n, 1);
    ASSERT_FALSE(fid);
    EXPECT_EQ(fid.error(), ENOENT);
    EXPECT_EQ(client_.fids_in_use(), 1u);  // the unmade fid is free again
    corrupt(p9::kTgetattr,
            [](Fake9pReply& r) { r.bytes = Fake9pServer::lerror(r.bytes[5], EACCES); });
    auto a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EACCES);
}

TEST_F(P9Fake, RlerrorWithImpossibleErrnoIsEproto) {
    start();
    for (uint32_t bad : {0u, 100000u}) {
        corrupt(p9::kTgetattr,
                [bad](Fake9pReply& r) { r.bytes = Fake9pServer::lerror(r.bytes[5], bad); });
        auto a = client_.getattr(p9::kRootFid);
        ASSERT_FALSE(a);
        EXPECT_EQ(a.error(), EPROTO) << bad;
    }
}

TEST_F(P9Fake, PartialWalkIsEnoentOrEnotdirAndLeavesNoFid) {
    start();
    const p9::Name names[] = {{"dsub", 4}, {"missing", 7}};
    auto fid = client_.walk(p9::kRootFid, names, 2);
    ASSERT_FALSE(fid);
    EXPECT_EQ(fid.error(), ENOENT);
    const p9::Name through_file[] = {{"f", 1}, {"missing", 7}};
    fid = client_.walk(p9::kRootFid, through_file, 2);
    ASSERT_FALSE(fid);
    EXPECT_EQ(fid.error(), ENOTDIR);
    EXPECT_EQ(client_.fids_in_use(), 1u);
}

TEST_F(P9Fake, TruncatedRepliesAreEproto) {
    start();
    // Rgetattr cut short, its size field telling the truth about the cut.
    corrupt(p9::kTgetattr, [](Fake9pReply& r) {
        r.bytes.resize(50);
        testing::set_le32(r.bytes, 0, 50);
    });
    auto a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EPROTO);
    // Fewer bytes than a header.
    corrupt(p9::kTgetattr, [](Fake9pReply& r) { r.bytes.resize(5); });
    a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EPROTO);
    // A size field claiming more than the device wrote.
    corrupt(p9::kTstatfs,
            [](Fake9pReply& r) { r.used_len = static_cast<int64_t>(r.bytes.size()) - 10; });
    auto sf = client_.statfs(p9::kRootFid);
    ASSERT_FALSE(sf);
    EXPECT_EQ(sf.error(), EPROTO);
    // A size field below the header.
    corrupt(p9::kTclunk, [](Fake9pReply& r) { testing::set_le32(r.bytes, 0, 3); });
    const uint32_t fid = walk_file();
    auto c = client_.clunk(fid);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), EPROTO);
    // The client goes on working after each.
    EXPECT_TRUE(client_.getattr(p9::kRootFid));
}

TEST_F(P9Fake, CountsPastTheBufferAreEproto) {
    start();
    // Rwalk claiming more qids than it carries.
    corrupt(p9::kTwalk, [](Fake9pReply& r) { r.bytes[7] = 3; });
    const p9::Name n{"f", 1};
    auto fid = client_.walk(p9::kRootFid, &n, 1);
    ASSERT_FALSE(fid);
    EXPECT_EQ(fid.error(), EPROTO);
    // Rwalk with more qids than names asked.
    corrupt(p9::kTwalk, [](Fake9pReply& r) {
        r.bytes[7] = 2;
        r.bytes.insert(r.bytes.end(), r.bytes.end() - 13, r.bytes.end());
        testing::set_le32(r.bytes, 0, static_cast<uint32_t>(r.bytes.size()));
    });
    fid = client_.walk(p9::kRootFid, &n, 1);
    ASSERT_FALSE(fid);
    EXPECT_EQ(fid.error(), EPROTO);
    // Rreaddir whose count runs past the reply.
    auto dir = client_.walk(p9::kRootFid, nullptr, 0);
    ASSERT_TRUE(dir);
    std::vector<uint8_t> dbuf(4096);
    corrupt(p9::kTreaddir, [](Fake9pReply& r) { testing::set_le32(r.bytes, 7, 4000); });
    auto len = client_.readdir(*dir, 0, dbuf.data(), 4096);
    ASSERT_FALSE(len);
    EXPECT_EQ(len.error(), EPROTO);
    // A directory entry whose name length runs past the payload.
    corrupt(p9::kTreaddir, [](Fake9pReply& r) { r.bytes[11 + 13 + 8 + 1] = 200; });
    len = client_.readdir(*dir, 0, dbuf.data(), 4096);
    ASSERT_TRUE(len);
    p9::DirReader dr(dbuf.data(), *len);
    p9::DirEntry e;
    auto more = dr.next(&e);
    ASSERT_FALSE(more);
    EXPECT_EQ(more.error(), EPROTO);
    // Rwalk leftovers of the failed walks were clunked.
    EXPECT_TRUE(client_.clunk(*dir));
    EXPECT_EQ(client_.fids_in_use(), 1u);
}

TEST_F(P9Fake, WrongTagOrTypeIsEproto) {
    start();
    corrupt(p9::kTgetattr, [](Fake9pReply& r) { r.bytes[5] ^= 0x5a; });
    auto a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EPROTO);
    corrupt(p9::kTgetattr, [](Fake9pReply& r) { r.bytes[4] = p9::kTstatfs + 1; });
    a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EPROTO);
}

TEST_F(P9Fake, OversizedRreadCountIsEproto) {
    start();
    const uint32_t fid = walk_file();
    std::vector<uint8_t> buf(100);
    // More than asked for (the device wrote only what fits, the count says more).
    corrupt(p9::kTread, [](Fake9pReply& r) { testing::set_le32(r.bytes, 7, 5000); });
    auto n = client_.read(fid, 0, buf.data(), buf.size());
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), EPROTO);
    // A count that disagrees with the reply's size.
    corrupt(p9::kTread, [](Fake9pReply& r) { testing::set_le32(r.bytes, 7, 50); });
    n = client_.read(fid, 0, buf.data(), buf.size());
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), EPROTO);
    // Rwrite claiming more than was sent.
    corrupt(p9::kTwrite, [](Fake9pReply& r) { testing::set_le32(r.bytes, 7, 1u << 31); });
    auto w = client_.write(fid, 0, buf.data(), buf.size());
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), EPROTO);
}

TEST_F(P9Fake, UsedLengthPastTheChainBreaksTheDevice) {
    start();
    corrupt(p9::kTgetattr, [](Fake9pReply& r) { r.used_len = 1 << 20; });
    auto a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), EIO);
    EXPECT_TRUE(dev_.broken());
    EXPECT_TRUE(transport_->failed());
    a = client_.getattr(p9::kRootFid);
    EXPECT_EQ(a.error(), EIO);
}

TEST_F(P9Fake, SilentDeviceTimesOutAndBreaks) {
    start();
    corrupt(p9::kTgetattr, [](Fake9pReply& r) { r.complete = false; });
    auto a = client_.getattr(p9::kRootFid);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error(), ETIMEDOUT);
    EXPECT_TRUE(dev_.broken());
}

}  // namespace
}  // namespace vfs::guest
