// The FUSE server end to end below the transport: requests built with the driver-side
// codec, served by FuseServer over a real PassthroughFs and a real io_uring, replies
// decoded and checked against the files on disk.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <liburing.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "fs/passthrough_fs.h"
#include "fs/read_only_fs.h"
#include "fuse/fuse_server.h"
#include "util/unique_fd.h"
#include "vfs/wire/fuse_client.h"

namespace fs = std::filesystem;
using namespace vfs::host;
using namespace vfs::wire;

namespace {

// Plays the queue worker: one slot, the worker's real I/O engine, completions reaped
// synchronously.
class TestQueue final : public QueueContext {
  public:
    TestQueue() {
        auto io = IoEngine::create(8, 1);
        EXPECT_TRUE(io.ok());
        io_ = std::move(*io);
        slot_.index = 0;
        slot_.segs = segs_.data();
    }

    uint32_t queue_index() const override { return 1; }
    void complete(RequestSlot&, uint32_t written) override {
        done_ = true;
        written_ = written;
    }
    IoEngine& io() override { return *io_; }
    void mark_broken(const char*) override { broken_ = true; }
    // One slot: nothing else, unless a test plays a busy queue.
    bool others_waiting() const override { return others; }
    bool others = false;
    // No pool: the inline path, as with --thread-pool-size=0, unless a test plays one
    // (`pool`): an offloaded request then runs at once, as a pool thread would run it.
    bool can_offload() const override { return pool; }
    void offload(RequestSlot& slot) override {
        if (!pool) {
            ADD_FAILURE() << "offload without a pool";
            return;
        }
        ++offloaded;
        complete(slot, handler_->run_offloaded(slot));
    }
    void wait_offloaded() override {}
    bool pool = false;
    uint32_t offloaded = 0;

    // Runs one chain through the server; returns the used length.
    uint32_t run(FuseServer& server, const Segment* readable, uint32_t nr, const Segment* writable,
                 uint32_t nw) {
        // The worker asks for its queue's handler once, when the queue starts; a test may
        // replace the server between requests, so each request starts a queue of its own.
        std::unique_ptr<QueueHandler> handler = server.start_queue(queue_index(), 1);
        handler_ = handler.get();
        uint32_t i = 0;
        for (; i < nr; ++i)
            segs_[i] = readable[i];
        for (uint32_t j = 0; j < nw; ++j)
            segs_[i + j] = writable[j];
        slot_.chain = DeviceChain{};
        slot_.chain.segs = segs_.data();
        slot_.chain.n_readable = nr;
        slot_.chain.n_writable = nw;
        done_ = false;
        handler->handle(*this, slot_);
        while (!done_) {
            EXPECT_EQ(io_->submit_and_wait(0), 0);
            io_->reap([&](const IoCompletion& c) {
                EXPECT_TRUE(c.for_slot);
                EXPECT_EQ(c.slot, 0u);
                handler->on_io_complete(*this, slot_, c.cookie, c.result);
            });
        }
        return written_;
    }

    // Data operations the engine queued on its ring.
    uint64_t ring_ops() const { return io_->stats().ops_on_ring; }
    const IoStats& io_stats() const { return io_->stats(); }
    bool broken_ = false;

  private:
    std::unique_ptr<IoEngine> io_;
    QueueHandler* handler_ = nullptr;  // the queue run() started
    RequestSlot slot_;
    std::array<Segment, kMaxChainSegments> segs_{};
    bool done_ = false;
    uint32_t written_ = 0;
};

class FuseServerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vfs-fuse-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        share_ = top_ / "share";
        fs::create_directory(share_);
        std::ofstream(share_ / "hello.txt") << "hello world";
        opts_.shared_dir = share_;
        opts_.xattr = true;
        auto r = PassthroughFs::create(opts_);
        ASSERT_TRUE(r.ok());
        pfs_ = std::move(*r);
        server_ = std::make_unique<FuseServer>(*pfs_, opts_);
    }
    void TearDown() override {
        server_.reset();
        read_only_.reset();
        pfs_.reset();
        fs::remove_all(top_);
    }

    // Sends one request; data goes out as `out_data`, replies land in `in_data`.
    template <class Out>
    Result<ClientReply> call(ClientRequest rq, Out* out, std::vector<Segment> out_data = {},
                             std::vector<Segment> in_data = {}) {
        rq.unique = ++unique_;
        rq.data = out_data.data();
        rq.data_count = static_cast<uint32_t>(out_data.size());
        Segment rd[kMaxChainSegments], wr[kMaxChainSegments];
        auto nr = build_request(rq, proto_, req_buf_.data(), kRequestBufMax, rd, kMaxChainSegments);
        if (!nr) return Error{nr.error()};
        auto nw =
            build_reply_segments(rq, proto_, head_buf_.data(), kReplyHeadMax, in_data.data(),
                                 static_cast<uint32_t>(in_data.size()), wr, kMaxChainSegments);
        if (!nw) return Error{nw.error()};
        const uint32_t used = queue_.run(*server_, rd, *nr, wr, *nw);
        if (*nw == 0) return ClientReply{};
        uint64_t cap = 0;
        for (auto& s : in_data)
            cap += s.len;
        return decode_reply(rq, proto_, head_buf_.data(), cap, used, out, sizeof(Out));
    }

    void init() {
        fuse_init_in in{};
        in.major = FUSE_KERNEL_VERSION;
        in.minor = FUSE_KERNEL_MINOR_VERSION;
        in.max_readahead = 128 * 1024;
        in.flags = FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_INIT_EXT |
                   FUSE_DONT_MASK | FUSE_WRITEBACK_CACHE | FUSE_HANDLE_KILLPRIV_V2;
        fuse_init_out out{};
        auto r = call(ClientRequest{.opcode = FUSE_INIT, .arg = &in}, &out);
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->error, 0);
        EXPECT_EQ(out.major, 7u);
        EXPECT_EQ(out.max_write, kMaxWrite);
        EXPECT_EQ(out.max_pages, kMaxPages);
        EXPECT_TRUE(out.flags & FUSE_DO_READDIRPLUS);
        EXPECT_FALSE(out.flags & FUSE_WRITEBACK_CACHE);  // not enabled on the command line
        proto_.minor = out.minor;
    }

    ClientRequest req(uint32_t opcode, uint64_t nodeid, const void* arg = nullptr,
                      std::string_view n0 = {}, std::string_view n1 = {}) {
        ClientRequest rq{.opcode = opcode, .nodeid = nodeid, .uid = 0, .gid = 0, .pid = 42};
        rq.arg = arg;
        names_[0] = std::string(n0);
        names_[1] = std::string(n1);
        rq.names[0] = NameView{names_[0].c_str(), static_cast<uint32_t>(names_[0].size())};
        rq.names[1] = NameView{names_[1].c_str(), static_cast<uint32_t>(names_[1].size())};
        return rq;
    }

    fs::path top_, share_;
    FsOptions opts_;
    std::unique_ptr<PassthroughFs> pfs_;
    std::unique_ptr<ReadOnlyFs> read_only_;  // pfs_ behind --readonly, when a test wants it
    std::unique_ptr<FuseServer> server_;
    TestQueue queue_;
    Proto proto_{FUSE_KERNEL_MINOR_VERSION, false};
    uint64_t unique_ = 0;
    std::string names_[2];
    std::vector<uint8_t> req_buf_ = std::vector<uint8_t>(kRequestBufMax);
    std::vector<uint8_t> head_buf_ = std::vector<uint8_t>(kReplyHeadMax);
};

}  // namespace

TEST_F(FuseServerTest, RequestsBeforeInitFail) {
    fuse_entry_out e{};
    auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, EIO);
}

TEST(FuseSession, NegotiatesOnlyWhatBothSidesWant) {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = 31;  // an older kernel: we answer at its minor
    in.flags = FUSE_ASYNC_READ | FUSE_HANDLE_KILLPRIV | FUSE_HANDLE_KILLPRIV_V2 |
               FUSE_WRITEBACK_CACHE | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_MAX_PAGES;
    FsOptions opts;
    auto n = negotiate_init(in, sizeof(in), opts);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(n->out.minor, 31u);
    EXPECT_EQ(n->proto.minor, 31u);
    EXPECT_TRUE(n->flags & FUSE_ASYNC_READ);
    // Never v1 (the guest would stop clearing suid on write); v2 only when asked for.
    EXPECT_FALSE(n->flags & FUSE_HANDLE_KILLPRIV);
    EXPECT_FALSE(n->flags & FUSE_HANDLE_KILLPRIV_V2);
    // Not enabled on the command line, or not implemented: never announced.
    EXPECT_FALSE(n->flags & FUSE_WRITEBACK_CACHE);
    EXPECT_FALSE(n->flags & FUSE_POSIX_LOCKS);
    EXPECT_FALSE(n->flags & FUSE_FLOCK_LOCKS);
    opts.killpriv_v2 = true;
    opts.writeback = true;
    opts.posix_lock = true;  // -o posix_lock
    opts.flock = true;       // -o flock
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_TRUE(n->flags & FUSE_HANDLE_KILLPRIV_V2);
    EXPECT_TRUE(n->flags & FUSE_WRITEBACK_CACHE);
    EXPECT_TRUE(n->flags & FUSE_POSIX_LOCKS);
    EXPECT_TRUE(n->flags & FUSE_FLOCK_LOCKS);
    // A flag the guest did not offer is never set.
    in.flags = 0;
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_EQ(n->out.flags, 0u);
    EXPECT_EQ(n->out.max_pages, 0u);
}

// --posix-acl: ACLs only with the extended SETXATTR header, whose flags carry the
// guest's ACL_KILL_SGID (issue 13, finding 6); the session then parses that header.
TEST(FuseSession, PosixAclNeedsSetxattrExt) {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.flags = FUSE_POSIX_ACL;
    FsOptions opts;
    opts.posix_acl = true;
    auto n = negotiate_init(in, sizeof(in), opts);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(n->flags & FUSE_POSIX_ACL);
    EXPECT_FALSE(n->flags & FUSE_SETXATTR_EXT);
    in.flags |= FUSE_SETXATTR_EXT;
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_TRUE(n->flags & FUSE_POSIX_ACL);
    EXPECT_TRUE(n->flags & FUSE_SETXATTR_EXT);
    Session s;
    ASSERT_TRUE(s.begin(*n));
    EXPECT_TRUE(s.proto().setxattr_ext);
    opts.posix_acl = false;  // without ACLs the compat header stays
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_FALSE(n->flags & (FUSE_POSIX_ACL | FUSE_SETXATTR_EXT));
}

// --security-label: FUSE_SECURITY_CTX only for 7.38+ guests, whose labels come as counted
// extensions; a 7.36/7.37 kernel appends them in a form the request parser does not read.
TEST(FuseSession, SecurityCtxOnlyWithTheOptionAndCountedExtensions) {
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = 38;
    in.flags = FUSE_INIT_EXT;
    in.flags2 = static_cast<uint32_t>(FUSE_SECURITY_CTX >> 32);
    FsOptions opts;
    auto n = negotiate_init(in, sizeof(in), opts);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(n->flags & FUSE_SECURITY_CTX);
    opts.security_label = true;
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_TRUE(n->flags & FUSE_SECURITY_CTX);
    EXPECT_TRUE(n->out.flags2 & (FUSE_SECURITY_CTX >> 32));
    in.minor = 37;
    n = negotiate_init(in, sizeof(in), opts);
    EXPECT_FALSE(n->flags & FUSE_SECURITY_CTX);
}

// A second INIT on virtio-fs is a guest that rebooted without unmounting: the old
// session's inodes and handles go, and the new mount works.
TEST_F(FuseServerTest, InitAfterAHardRebootStartsAFreshSession) {
    init();
    fuse_entry_out e{};
    auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(pfs_->inodes().size(), 2u);
    init();
    EXPECT_EQ(pfs_->inodes().size(), 1u);
    r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
    ASSERT_TRUE(r.ok() && r->error == 0);
}

TEST_F(FuseServerTest, OversizedPayloadsAreRefusedBeforeAnyAllocation) {
    init();
    fuse_entry_out e{};
    ASSERT_TRUE(call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e).ok());
    // An xattr value beyond XATTR_SIZE_MAX, and a WRITE beyond max_write, both claimed by
    // descriptors that alias one small buffer.
    std::vector<uint8_t> small(64 * 1024);
    std::vector<Segment> alias(20, Segment{small.data(), static_cast<uint32_t>(small.size())});
    fuse_setxattr_in xin{};
    xin.size = static_cast<uint32_t>(small.size()) * 2;
    fuse_out_header none{};
    auto r = call(req(FUSE_SETXATTR, e.nodeid, &xin, "user.big"), &none,
                  {alias.begin(), alias.begin() + 2});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, E2BIG);
    fuse_write_in win{};
    win.size = static_cast<uint32_t>(small.size() * alias.size());
    fuse_write_out wout{};
    r = call(req(FUSE_WRITE, e.nodeid, &win), &wout, alias);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, E2BIG);
}

TEST_F(FuseServerTest, WrongMajorIsRefused) {
    fuse_init_in in{};
    in.major = 6;
    fuse_init_out out{};
    auto r = call(req(FUSE_INIT, 0, &in), &out);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, EPROTO);
    EXPECT_FALSE(server_->session().initialized());
}

TEST_F(FuseServerTest, LookupGetattrReadThroughIoUring) {
    init();
    fuse_entry_out e{};
    auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(e.attr.size, 11u);
    fuse_getattr_in gin{};
    fuse_attr_out a{};
    r = call(req(FUSE_GETATTR, e.nodeid, &gin), &a);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(a.attr.ino, e.attr.ino);

    fuse_open_in oin{};
    oin.flags = O_RDONLY;
    fuse_open_out o{};
    r = call(req(FUSE_OPEN, e.nodeid, &oin), &o);
    ASSERT_TRUE(r.ok() && r->error == 0);

    // Read into two separate guest buffers, as a scatter list.
    uint8_t a1[4], a2[64];
    fuse_read_in rin{};
    rin.fh = o.fh;
    rin.offset = 2;
    rin.size = sizeof(a1) + sizeof(a2);
    const uint64_t before = queue_.ring_ops();
    fuse_out_header none{};
    r = call(req(FUSE_READ, e.nodeid, &rin), &none, {}, {{a1, sizeof(a1)}, {a2, sizeof(a2)}});
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(r->error, 0);
    // Short of what was asked: the end of the file, which a second try from the page
    // cache finds at once. No ring round trip for (almost every file's) last READ.
    EXPECT_EQ(queue_.ring_ops(), before);
    ASSERT_EQ(r->data_len, 9u);
    EXPECT_EQ(std::string((char*)a1, 4) + std::string((char*)a2, 5), "llo world");
}

TEST_F(FuseServerTest, CreateWriteLargeScatteredThenReadBack) {
    init();
    fuse_create_in cin{};
    cin.flags = O_RDWR;
    cin.mode = S_IFREG | 0640;
    struct {
        fuse_entry_out entry;
        fuse_open_out open;
    } created{};
    auto r = call(req(FUSE_CREATE, FUSE_ROOT_ID, &cin, "big.bin"), &created);
    ASSERT_TRUE(r.ok() && r->error == 0) << (r.ok() ? r->error : r.error());

    // 1 MiB in 256 page-sized segments, the largest WRITE Linux sends.
    std::vector<uint8_t> data(kMaxWrite);
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<uint8_t>(i * 7 + i / 4096);
    std::vector<Segment> segs;
    for (size_t off = 0; off < data.size(); off += 4096)
        segs.push_back({data.data() + off, 4096});
    fuse_write_in win{};
    win.fh = created.open.fh;
    win.offset = 4096;
    win.size = kMaxWrite;
    fuse_write_out wout{};
    // With other requests waiting a large write goes through the ring; alone on the queue
    // it is copied inline (io_engine.h). Both write the same bytes.
    uint64_t ring_ops = queue_.ring_ops();
    queue_.others = true;
    r = call(req(FUSE_WRITE, created.entry.nodeid, &win), &wout, segs);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(wout.size, kMaxWrite);
    EXPECT_EQ(queue_.ring_ops(), ring_ops + 1);
    queue_.others = false;
    wout = {};
    r = call(req(FUSE_WRITE, created.entry.nodeid, &win), &wout, segs);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(wout.size, kMaxWrite);
    EXPECT_EQ(queue_.ring_ops(), ring_ops + 1);
    // With a pool, the write alone on the queue goes to a pool thread, not the queue's
    // thread (which may serve the hiprio queue too): a write stuck on a hung share then
    // blocks a pool thread, as every other blocking call does.
    queue_.pool = true;
    wout = {};
    r = call(req(FUSE_WRITE, created.entry.nodeid, &win), &wout, segs);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(wout.size, kMaxWrite);
    EXPECT_EQ(queue_.offloaded, 1u);
    EXPECT_EQ(queue_.ring_ops(), ring_ops + 1);
    queue_.pool = false;

    fuse_fsync_in fin{};
    fin.fh = created.open.fh;
    fuse_out_header none{};
    r = call(req(FUSE_FSYNC, created.entry.nodeid, &fin), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);

    std::ifstream f(share_ / "big.bin", std::ios::binary);
    std::vector<uint8_t> disk((std::istreambuf_iterator<char>(f)), {});
    ASSERT_EQ(disk.size(), 4096 + data.size());
    EXPECT_TRUE(std::equal(data.begin(), data.end(), disk.begin() + 4096));
    EXPECT_EQ(fs::status(share_ / "big.bin").permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

    std::vector<uint8_t> back(kMaxWrite);
    std::vector<Segment> in;
    for (size_t off = 0; off < back.size(); off += 4096)
        in.push_back({back.data() + off, 4096});
    fuse_read_in rin{};
    rin.fh = created.open.fh;
    rin.offset = 4096;
    rin.size = kMaxWrite;
    ring_ops = queue_.ring_ops();
    r = call(req(FUSE_READ, created.entry.nodeid, &rin), &none, {}, in);
    ASSERT_TRUE(r.ok() && r->error == 0);
    ASSERT_EQ(r->data_len, kMaxWrite);
    EXPECT_EQ(back, data);
    EXPECT_EQ(queue_.ring_ops(), ring_ops);  // all in the page cache: served inline

    // A small write is copied inline, and lands.
    uint8_t small[5] = {'s', 'm', 'a', 'l', 'l'};
    fuse_write_in swin{};
    swin.fh = created.open.fh;
    swin.size = sizeof(small);
    r = call(req(FUSE_WRITE, created.entry.nodeid, &swin), &wout, {{small, sizeof(small)}});
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(wout.size, sizeof(small));
    EXPECT_EQ(queue_.ring_ops(), ring_ops);

    fuse_release_in rel{};
    rel.fh = created.open.fh;
    r = call(req(FUSE_RELEASE, created.entry.nodeid, &rel), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);
    r = call(req(FUSE_READ, created.entry.nodeid, &rin), &none, {}, in);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, EBADF);  // the handle is gone
}

TEST_F(FuseServerTest, FallocateGoesThroughTheRingAndKillprivClearsSuid) {
    opts_.killpriv_v2 = true;
    server_ = std::make_unique<FuseServer>(*pfs_, opts_);
    init();
    fuse_create_in cin{};
    cin.flags = O_RDWR;
    cin.mode = S_IFREG | 06755;
    struct {
        fuse_entry_out entry;
        fuse_open_out open;
    } created{};
    auto r = call(req(FUSE_CREATE, FUSE_ROOT_ID, &cin, "suid.bin"), &created);
    ASSERT_TRUE(r.ok() && r->error == 0);
    fs::permissions(share_ / "suid.bin", fs::perms(06755));  // as a guest root would

    fuse_fallocate_in fin{};
    fin.fh = created.open.fh;
    fin.length = 1 << 20;
    fuse_out_header none{};
    const uint64_t before = queue_.ring_ops();
    r = call(req(FUSE_FALLOCATE, created.entry.nodeid, &fin), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(queue_.ring_ops(), before + 1);
    EXPECT_EQ(fs::file_size(share_ / "suid.bin"), 1u << 20);

    // An unprivileged guest writer: the guest flags the write, we drop suid and sgid.
    uint8_t byte = 'x';
    fuse_write_in win{};
    win.fh = created.open.fh;
    win.size = 1;
    win.write_flags = FUSE_WRITE_KILL_SUIDGID;
    fuse_write_out wout{};
    r = call(req(FUSE_WRITE, created.entry.nodeid, &win), &wout, {{&byte, 1}});
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(fs::status(share_ / "suid.bin").permissions() & fs::perms(07777), fs::perms(0755));
}

TEST_F(FuseServerTest, NamespaceOperations) {
    init();
    fuse_mkdir_in min{};
    min.mode = 0755;
    fuse_entry_out d{};
    auto r = call(req(FUSE_MKDIR, FUSE_ROOT_ID, &min, "dir"), &d);
    ASSERT_TRUE(r.ok() && r->error == 0);
    fuse_entry_out s{};
    r = call(req(FUSE_SYMLINK, d.nodeid, nullptr, "link", "../hello.txt"), &s);
    ASSERT_TRUE(r.ok() && r->error == 0);
    char target[64];
    fuse_out_header none{};
    r = call(req(FUSE_READLINK, s.nodeid), &none, {}, {{(uint8_t*)target, sizeof(target)}});
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(std::string(target, r->data_len), "../hello.txt");
    EXPECT_EQ(fs::read_symlink(share_ / "dir" / "link"), "../hello.txt");

    fuse_rename2_in rin{};
    rin.newdir = FUSE_ROOT_ID;
    rin.flags = RENAME_NOREPLACE;
    r = call(req(FUSE_RENAME2, d.nodeid, &rin, "link", "hello.txt"), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, EEXIST);
    rin.flags = 0;
    r = call(req(FUSE_RENAME2, d.nodeid, &rin, "link", "moved"), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_TRUE(fs::is_symlink(share_ / "moved"));
    r = call(req(FUSE_UNLINK, FUSE_ROOT_ID, nullptr, "moved"), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);
    r = call(req(FUSE_RMDIR, FUSE_ROOT_ID, nullptr, "dir"), &none);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_FALSE(fs::exists(share_ / "dir"));

    fuse_statfs_out st{};
    r = call(req(FUSE_STATFS, FUSE_ROOT_ID), &st);
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_GT(st.st.blocks, 0u);
}

TEST_F(FuseServerTest, ReaddirplusPagesThroughABigDirectory) {
    init();
    for (int i = 0; i < 500; ++i)
        std::ofstream(share_ / ("file-" + std::to_string(i)));
    fuse_open_in oin{};
    fuse_open_out o{};
    auto r = call(req(FUSE_OPENDIR, FUSE_ROOT_ID, &oin), &o);
    ASSERT_TRUE(r.ok() && r->error == 0);
    std::set<std::string> seen;
    uint64_t off = 0;
    std::vector<uint8_t> buf(4096);
    for (int round = 0; round < 1000; ++round) {
        fuse_read_in rin{};
        rin.fh = o.fh;
        rin.offset = off;
        rin.size = static_cast<uint32_t>(buf.size());
        fuse_out_header none{};
        r = call(req(FUSE_READDIRPLUS, FUSE_ROOT_ID, &rin), &none, {},
                 {{buf.data(), static_cast<uint32_t>(buf.size())}});
        ASSERT_TRUE(r.ok() && r->error == 0);
        if (r->data_len == 0) break;
        DirentReader reader(buf.data(), r->data_len, true);
        vfs::wire::DirEntry de;
        for (;;) {
            auto more = reader.next(&de);
            ASSERT_TRUE(more.ok());
            if (!*more) break;
            std::string name(de.name, de.namelen);
            EXPECT_TRUE(seen.insert(name).second) << name;
            off = de.off;
            if (name != "." && name != "..") {
                EXPECT_NE(de.entry.nodeid, 0u);
                fuse_forget_in fin{1};
                fuse_out_header none2{};
                (void)call(req(FUSE_FORGET, de.entry.nodeid, &fin), &none2);
            }
        }
    }
    EXPECT_EQ(seen.size(), 503u);          // 500 files, hello.txt, "." and ".."
    EXPECT_EQ(pfs_->inodes().size(), 1u);  // every lookup was forgotten
}

TEST_F(FuseServerTest, BatchForgetAndUnknownOpcodes) {
    init();
    fuse_entry_out e{};
    for (int i = 0; i < 3; ++i) {
        auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
        ASSERT_TRUE(r.ok() && r->error == 0);
    }
    fuse_batch_forget_in bin{};
    bin.count = 2;
    fuse_forget_one ones[2] = {{e.nodeid, 2}, {999999, 5}};  // a forged id is ignored
    fuse_out_header none{};
    auto r = call(req(FUSE_BATCH_FORGET, 0, &bin), &none, {{(uint8_t*)ones, sizeof(ones)}});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(pfs_->getattr(e.nodeid, nullptr).ok());  // one lookup left
    fuse_forget_in fin{1};
    r = call(req(FUSE_FORGET, e.nodeid, &fin), &none);
    EXPECT_FALSE(pfs_->getattr(e.nodeid, nullptr).ok());

    fuse_lk_in lk{};
    fuse_lk_out lko{};
    r = call(req(FUSE_GETLK, FUSE_ROOT_ID, &lk), &lko);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, ENOSYS);
}

TEST_F(FuseServerTest, ReplyNeverExceedsTheGuestsBuffer) {
    init();
    // A LOOKUP whose writable part is only an out header: the entry does not fit, so the
    // reply is an error header and the lookup count is given back.
    std::string name = "hello.txt";
    ClientRequest rq = req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, name);
    rq.unique = 777;
    Segment rd[2];
    auto nr = build_request(rq, proto_, req_buf_.data(), kRequestBufMax, rd, 2);
    ASSERT_TRUE(nr.ok());
    std::vector<uint8_t> small(sizeof(fuse_out_header) + 8, 0xee);
    Segment wr{small.data(), sizeof(fuse_out_header)};
    const uint32_t used = queue_.run(*server_, rd, *nr, &wr, 1);
    ASSERT_EQ(used, sizeof(fuse_out_header));
    fuse_out_header h;
    memcpy(&h, small.data(), sizeof(h));
    EXPECT_EQ(h.error, -ERANGE);
    EXPECT_EQ(h.unique, 777u);
    EXPECT_EQ(small[sizeof(fuse_out_header)], 0xee);  // nothing past the buffer
    EXPECT_EQ(pfs_->inodes().size(), 1u);

    // A truncated request (header says more than was sent) gets EINVAL, not a crash.
    fuse_in_header bad{};
    bad.len = 1000;
    bad.opcode = FUSE_GETATTR;
    bad.unique = 778;
    Segment rd2{(uint8_t*)&bad, sizeof(bad)};
    std::vector<uint8_t> out(64);
    Segment wr2{out.data(), 64};
    ASSERT_EQ(queue_.run(*server_, &rd2, 1, &wr2, 1), sizeof(fuse_out_header));
    memcpy(&h, out.data(), sizeof(h));
    EXPECT_EQ(h.error, -EINVAL);
    EXPECT_FALSE(queue_.broken_);
}

// GETLK/SETLK/SETLKW and the lock owners of FLUSH and RELEASE, end to end through the
// wire codec, with -o posix_lock,flock. Without them the same requests answer ENOSYS.
TEST_F(FuseServerTest, RemoteLocksThroughTheWire) {
    constexpr uint64_t kEof = static_cast<uint64_t>(LLONG_MAX);
    init();
    fuse_entry_out e{};
    ASSERT_TRUE(call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e).ok());
    fuse_open_in oin{};
    oin.flags = O_RDWR;
    fuse_open_out o{};
    ASSERT_TRUE(call(req(FUSE_OPEN, e.nodeid, &oin), &o).ok());
    fuse_lk_in lk{};
    lk.fh = o.fh;
    lk.owner = 1;
    lk.lk = {0, kEof, F_WRLCK, 42};
    fuse_out_header none{};
    auto r = call(req(FUSE_SETLK, e.nodeid, &lk), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, ENOSYS);  // not enabled

    // The same share with remote locks on.
    server_.reset();
    pfs_.reset();
    opts_.posix_lock = true;
    opts_.flock = true;
    auto p = PassthroughFs::create(opts_);
    ASSERT_TRUE(p.ok());
    pfs_ = std::move(*p);
    server_ = std::make_unique<FuseServer>(*pfs_, opts_);
    init();
    ASSERT_TRUE(call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e).ok());
    ASSERT_TRUE(call(req(FUSE_OPEN, e.nodeid, &oin), &o).ok());
    lk.fh = o.fh;
    r = call(req(FUSE_SETLK, e.nodeid, &lk), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
    lk.owner = 2;  // another guest process
    r = call(req(FUSE_SETLK, e.nodeid, &lk), &none);
    EXPECT_EQ(r->error, EAGAIN);
    r = call(req(FUSE_SETLKW, e.nodeid, &lk), &none);
    EXPECT_EQ(r->error, EOPNOTSUPP);  // would wait: refused, the worker never sleeps
    fuse_lk_out held{};
    r = call(req(FUSE_GETLK, e.nodeid, &lk), &held);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
    EXPECT_EQ(held.lk.type, static_cast<uint32_t>(F_WRLCK));
    EXPECT_EQ(held.lk.start, 0u);
    EXPECT_EQ(held.lk.end, kEof);
    lk.lk.start = 10;
    lk.lk.end = 9;  // malformed
    r = call(req(FUSE_SETLK, e.nodeid, &lk), &none);
    EXPECT_EQ(r->error, EINVAL);
    lk.lk.start = 0;
    lk.lk.end = kEof;

    // Owner 1 closes the file in the guest: FLUSH carries it and its lock goes.
    fuse_flush_in fl{};
    fl.fh = o.fh;
    fl.lock_owner = 1;
    r = call(req(FUSE_FLUSH, e.nodeid, &fl), &none);
    EXPECT_EQ(r->error, 0);
    r = call(req(FUSE_SETLK, e.nodeid, &lk), &none);
    EXPECT_EQ(r->error, 0);

    // flock on the handle, blocking form refused rather than waited on.
    fuse_open_out o2{};
    ASSERT_TRUE(call(req(FUSE_OPEN, e.nodeid, &oin), &o2).ok());
    fuse_lk_in fk{};
    fk.fh = o.fh;
    fk.owner = 7;
    fk.lk = {0, kEof, F_WRLCK, 42};
    fk.lk_flags = FUSE_LK_FLOCK;
    r = call(req(FUSE_SETLK, e.nodeid, &fk), &none);
    EXPECT_EQ(r->error, 0);
    fk.fh = o2.fh;
    fk.lk.type = F_RDLCK;
    r = call(req(FUSE_SETLKW, e.nodeid, &fk), &none);
    EXPECT_EQ(r->error, EOPNOTSUPP);
    fuse_release_in rel{};
    rel.fh = o.fh;
    rel.release_flags = FUSE_RELEASE_FLOCK_UNLOCK;
    rel.lock_owner = 7;
    r = call(req(FUSE_RELEASE, e.nodeid, &rel), &none);
    EXPECT_EQ(r->error, 0);
    r = call(req(FUSE_SETLKW, e.nodeid, &fk), &none);
    EXPECT_EQ(r->error, 0);
}

namespace {

// Which of the file's pages the page cache holds.
std::vector<bool> resident_pages(const fs::path& path) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    const size_t len = fs::file_size(path);
    void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, f.get(), 0);
    if (map == MAP_FAILED) return {};
    std::vector<unsigned char> vec((len + page - 1) / page);
    const bool ok = ::mincore(map, len, vec.data()) == 0;
    ::munmap(map, len);
    std::vector<bool> resident;
    if (ok)
        for (unsigned char v : vec)
            resident.push_back(v & 1);
    return resident;
}

}  // namespace

// A READ of a range the page cache holds only the start of: the start is copied inline,
// only the rest goes to the ring, and it lands right after the start in the guest's
// buffers (segments of an odd size, so the cached part ends inside one). Sending the
// whole range to the ring again would read the start twice.
TEST_F(FuseServerTest, APartlyCachedReadLeavesOnlyTheRestToTheRing) {
    init();
    constexpr size_t kSize = 256 << 10, kCached = 64 << 10, kSeg = 5000;
    std::vector<uint8_t> data(kSize);
    for (size_t i = 0; i < kSize; ++i)
        data[i] = static_cast<uint8_t>(i * 131 + i / 4096);
    const fs::path path = share_ / "cold.bin";
    {
        UniqueFd f(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        ASSERT_EQ(::pwrite(f.get(), data.data(), kSize, 0), static_cast<ssize_t>(kSize));
        ASSERT_EQ(::fsync(f.get()), 0);  // clean pages can be dropped
        ASSERT_EQ(::posix_fadvise(f.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
    }
    {
        UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        ASSERT_EQ(::posix_fadvise(f.get(), 0, 0, POSIX_FADV_RANDOM), 0);  // no readahead
        std::vector<uint8_t> head(kCached);
        ASSERT_EQ(::pread(f.get(), head.data(), kCached, 0), static_cast<ssize_t>(kCached));
    }
    const std::vector<bool> resident = resident_pages(path);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    ASSERT_EQ(resident.size(), kSize / page);
    for (size_t i = 0; i < resident.size(); ++i)
        if (resident[i] != (i < kCached / page))
            GTEST_SKIP() << "this filesystem would not keep just the file's first " << kCached
                         << " bytes in the page cache (page " << i << ")";

    fuse_entry_out e{};
    auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "cold.bin"), &e);
    ASSERT_TRUE(r.ok() && r->error == 0);
    fuse_open_in oin{};
    oin.flags = O_RDONLY;
    fuse_open_out o{};
    r = call(req(FUSE_OPEN, e.nodeid, &oin), &o);
    ASSERT_TRUE(r.ok() && r->error == 0);

    std::vector<uint8_t> back(kSize, 0xee);
    std::vector<Segment> in;
    for (size_t off = 0; off < kSize; off += kSeg)
        in.push_back({back.data() + off, static_cast<uint32_t>(std::min(kSeg, kSize - off))});
    fuse_read_in rin{};
    rin.fh = o.fh;
    rin.size = kSize;
    const uint64_t ring_bytes = queue_.io_stats().read_bytes_on_ring;
    fuse_out_header none{};
    r = call(req(FUSE_READ, e.nodeid, &rin), &none, {}, in);
    ASSERT_TRUE(r.ok() && r->error == 0);
    ASSERT_EQ(r->data_len, kSize);  // the rest was read, not left out
    EXPECT_TRUE(back == data) << "the reply is not the file";
    // At most the uncached part went to the ring (less if readahead the inline read
    // started had finished by the second try).
    EXPECT_LE(queue_.io_stats().read_bytes_on_ring - ring_bytes, kSize - kCached);
}

// FSYNCDIR goes on the ring as FSYNC does: neither blocks the worker inline.
TEST_F(FuseServerTest, FsyncdirGoesThroughTheRing) {
    init();
    fuse_open_in oin{};
    fuse_open_out o{};
    auto r = call(req(FUSE_OPENDIR, FUSE_ROOT_ID, &oin), &o);
    ASSERT_TRUE(r.ok() && r->error == 0);
    fuse_fsync_in fin{};
    fin.fh = o.fh;
    fuse_out_header none{};
    const uint64_t before = queue_.ring_ops();
    r = call(req(FUSE_FSYNCDIR, FUSE_ROOT_ID, &fin), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
    fin.fsync_flags = FUSE_FSYNC_FDATASYNC;
    r = call(req(FUSE_FSYNCDIR, FUSE_ROOT_ID, &fin), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
    EXPECT_EQ(queue_.ring_ops(), before + 2);
    fin.fh = 999999;  // a forged handle reaches nothing
    r = call(req(FUSE_FSYNCDIR, FUSE_ROOT_ID, &fin), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, EBADF);
    EXPECT_EQ(queue_.ring_ops(), before + 2);
}

// --readonly through the server: every request that could change the share answers
// EROFS, WRITE and FALLOCATE on an open handle included (the wrapper refuses the grant;
// they used to reach the host fd and get EBADF), and the share stays as it was. READ and
// FSYNC still work.
TEST_F(FuseServerTest, ReadOnlyShareAnswersEveryMutationWithErofs) {
    fs::create_directory(share_ / "sub");
    fs::permissions(share_ / "hello.txt", fs::perms(0644));
    ASSERT_EQ(::setxattr((share_ / "hello.txt").c_str(), "user.kept", "v", 1, 0), 0);
    read_only_ = std::make_unique<ReadOnlyFs>(std::move(pfs_));
    server_ = std::make_unique<FuseServer>(*read_only_, opts_);
    init();
    fuse_entry_out e{};
    auto r = call(req(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, "hello.txt"), &e);
    ASSERT_TRUE(r.ok() && r->error == 0);
    fuse_open_in oin{};
    oin.flags = O_RDONLY;
    fuse_open_out o{};
    r = call(req(FUSE_OPEN, e.nodeid, &oin), &o);
    ASSERT_TRUE(r.ok() && r->error == 0);

    uint8_t byte = 'x';
    fuse_write_in win{};
    win.fh = o.fh;
    win.size = 1;
    fuse_fallocate_in fin{};
    fin.fh = o.fh;
    fin.length = 1 << 20;
    fuse_setattr_in sin{};
    sin.valid = FATTR_MODE;
    sin.mode = S_IFREG | 0777;
    fuse_mknod_in mkn{};
    mkn.mode = S_IFREG | 0644;
    fuse_mkdir_in mkd{};
    mkd.mode = 0755;
    fuse_link_in lin{};
    lin.oldnodeid = e.nodeid;
    fuse_rename_in ren{};
    ren.newdir = FUSE_ROOT_ID;
    fuse_rename2_in ren2{};
    ren2.newdir = FUSE_ROOT_ID;
    fuse_open_in owr{};
    owr.flags = O_RDWR;
    fuse_open_in otr{};
    otr.flags = O_RDONLY | O_TRUNC;
    fuse_create_in cin{};
    cin.flags = O_RDWR;
    cin.mode = S_IFREG | 0644;
    fuse_setxattr_in xin{};
    xin.size = 1;
    fuse_copy_file_range_in cfr{};
    cfr.fh_in = o.fh;
    cfr.fh_out = o.fh;
    cfr.off_out = 64;
    cfr.len = 5;
    struct Mutation {
        const char* what;
        std::function<ClientRequest()> request;  // built when sent: req() reuses names_
        std::vector<Segment> payload;
    };
    const std::vector<Mutation> mutations = {
        {"WRITE", [&] { return req(FUSE_WRITE, e.nodeid, &win); }, {{&byte, 1}}},
        {"FALLOCATE", [&] { return req(FUSE_FALLOCATE, e.nodeid, &fin); }, {}},
        {"SETATTR", [&] { return req(FUSE_SETATTR, e.nodeid, &sin); }, {}},
        {"MKNOD", [&] { return req(FUSE_MKNOD, FUSE_ROOT_ID, &mkn, "n"); }, {}},
        {"MKDIR", [&] { return req(FUSE_MKDIR, FUSE_ROOT_ID, &mkd, "d"); }, {}},
        {"SYMLINK", [&] { return req(FUSE_SYMLINK, FUSE_ROOT_ID, nullptr, "s", "hello.txt"); }, {}},
        {"LINK", [&] { return req(FUSE_LINK, FUSE_ROOT_ID, &lin, "alias"); }, {}},
        {"UNLINK", [&] { return req(FUSE_UNLINK, FUSE_ROOT_ID, nullptr, "hello.txt"); }, {}},
        {"RMDIR", [&] { return req(FUSE_RMDIR, FUSE_ROOT_ID, nullptr, "sub"); }, {}},
        {"RENAME", [&] { return req(FUSE_RENAME, FUSE_ROOT_ID, &ren, "hello.txt", "m"); }, {}},
        {"RENAME2", [&] { return req(FUSE_RENAME2, FUSE_ROOT_ID, &ren2, "hello.txt", "m"); }, {}},
        {"OPEN O_RDWR", [&] { return req(FUSE_OPEN, e.nodeid, &owr); }, {}},
        {"OPEN O_TRUNC", [&] { return req(FUSE_OPEN, e.nodeid, &otr); }, {}},
        {"CREATE", [&] { return req(FUSE_CREATE, FUSE_ROOT_ID, &cin, "c"); }, {}},
        {"TMPFILE", [&] { return req(FUSE_TMPFILE, FUSE_ROOT_ID, &cin, "/"); }, {}},
        {"SETXATTR", [&] { return req(FUSE_SETXATTR, e.nodeid, &xin, "user.a"); }, {{&byte, 1}}},
        {"REMOVEXATTR", [&] { return req(FUSE_REMOVEXATTR, e.nodeid, nullptr, "user.kept"); }, {}},
        {"COPY_FILE_RANGE", [&] { return req(FUSE_COPY_FILE_RANGE, e.nodeid, &cfr); }, {}},
    };
    std::array<uint8_t, kMaxReplyStructSize> any{};
    for (const Mutation& m : mutations) {
        r = call(m.request(), &any, m.payload);
        ASSERT_TRUE(r.ok()) << m.what << ": " << r.error();
        EXPECT_EQ(r->error, EROFS) << m.what;
    }

    std::set<std::string> names;
    for (const auto& d : fs::directory_iterator(share_))
        names.insert(d.path().filename());
    EXPECT_EQ(names, (std::set<std::string>{"hello.txt", "sub"}));
    EXPECT_EQ(fs::file_size(share_ / "hello.txt"), 11u);
    EXPECT_EQ(fs::status(share_ / "hello.txt").permissions(), fs::perms(0644));
    char v[4];
    EXPECT_EQ(::getxattr((share_ / "hello.txt").c_str(), "user.kept", v, sizeof(v)), 1);

    uint8_t buf[64];
    fuse_read_in rin{};
    rin.fh = o.fh;
    rin.size = sizeof(buf);
    fuse_out_header none{};
    r = call(req(FUSE_READ, e.nodeid, &rin), &none, {}, {{buf, sizeof(buf)}});
    ASSERT_TRUE(r.ok() && r->error == 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), r->data_len), "hello world");
    fuse_fsync_in fsin{};
    fsin.fh = o.fh;
    r = call(req(FUSE_FSYNC, e.nodeid, &fsin), &none);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
}
