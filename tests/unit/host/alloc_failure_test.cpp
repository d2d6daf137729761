// Allocation failure on the request path (issue 13, finding 12): the daemon builds with
// exceptions, and a bad_alloc escaping a queue worker or the connection thread was
// std::terminate. This binary replaces operator new with one that can be told to fail the
// Nth allocation of the calling thread, and sweeps N over a request: every failure must be
// answered (FUSE: an ENOMEM reply; vhost-user: a REPLY_ACK failure) and the next request
// served.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "fs/passthrough_fs.h"
#include "fuse/fuse_server.h"
#include "one_slot_queue.h"
#include "vfs/wire/fuse_client.h"
#include "vhost_user/backend.h"

namespace {

// -1: off; n >= 0: this thread's allocation number n from now throws (0: the next one).
thread_local long t_fail_in = -1;
thread_local bool t_failed = false;

void* allocate(std::size_t n) {
    if (t_fail_in >= 0 && t_fail_in-- == 0) {
        t_failed = true;
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

// Arms the failure for the scope of one call.
struct FailNth {
    explicit FailNth(long n) {
        t_failed = false;
        t_fail_in = n;
    }
    ~FailNth() { t_fail_in = -1; }
};

}  // namespace

void* operator new(std::size_t n) {
    return allocate(n);
}
void* operator new[](std::size_t n) {
    return allocate(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}

namespace vfs::host {
namespace {

namespace fs = std::filesystem;
using namespace vfs::wire;

class FuseAllocFailure : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vfs-alloc-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        fs::create_directory(top_ / "share");
        for (int i = 0; i < 64; ++i)
            std::ofstream(top_ / "share" / ("f" + std::to_string(i))) << "x";
        opts_.shared_dir = top_ / "share";
        auto r = PassthroughFs::create(opts_);
        ASSERT_TRUE(r.ok());
        pfs_ = std::move(*r);
        server_ = std::make_unique<FuseServer>(*pfs_, opts_);
        handler_ = server_->start_queue(1, 1);
        ASSERT_TRUE(queue_.ready());
        fuse_init_in in{};
        in.major = FUSE_KERNEL_VERSION;
        in.minor = FUSE_KERNEL_MINOR_VERSION;
        in.flags = FUSE_INIT_EXT | FUSE_MAX_PAGES;
        fuse_init_out out{};
        auto rep = call(FUSE_INIT, FUSE_ROOT_ID, &in, "", &out, sizeof(out));
        ASSERT_TRUE(rep.ok());
        ASSERT_EQ(rep->error, 0);
        proto_.minor = out.minor;
    }
    void TearDown() override {
        handler_.reset();
        server_.reset();
        pfs_.reset();
        fs::remove_all(top_);
    }

    // One request; fail_nth >= 0 makes that allocation of the server's thread fail.
    Result<ClientReply> call(uint32_t opcode, uint64_t nodeid, const void* arg,
                             const std::string& name, void* out, uint32_t out_size,
                             long fail_nth = -1) {
        ClientRequest rq{.opcode = opcode, .unique = ++unique_, .nodeid = nodeid};
        rq.arg = arg;
        rq.names[0] = NameView{name.c_str(), static_cast<uint32_t>(name.size())};
        Segment rd[kMaxChainSegments], wr[kMaxChainSegments];
        auto nr = build_request(rq, proto_, req_buf_.data(), kRequestBufMax, rd, kMaxChainSegments);
        if (!nr) return Error{nr.error()};
        auto nw = build_reply_segments(rq, proto_, head_buf_.data(), kReplyHeadMax, nullptr, 0, wr,
                                       kMaxChainSegments);
        if (!nw) return Error{nw.error()};
        uint32_t used;
        {
            FailNth arm(fail_nth);
            used = queue_.run(*handler_, rd, *nr, wr, *nw);
        }
        return decode_reply(rq, proto_, head_buf_.data(), 0, used, out, out_size);
    }

    fs::path top_;
    FsOptions opts_;
    std::unique_ptr<PassthroughFs> pfs_;
    std::unique_ptr<FuseServer> server_;
    std::unique_ptr<QueueHandler> handler_;
    vfs::testing::OneSlotQueue queue_;
    Proto proto_{FUSE_KERNEL_MINOR_VERSION, false};
    uint64_t unique_ = 0;
    std::vector<uint8_t> req_buf_ = std::vector<uint8_t>(kRequestBufMax);
    std::vector<uint8_t> head_buf_ = std::vector<uint8_t>(kReplyHeadMax);
};

// LOOKUP of a new name allocates (an inode, its table entry): every one of those
// allocations failing is an ENOMEM reply, and the next LOOKUP is served.
TEST_F(FuseAllocFailure, EachFailedAllocationIsENOMEMAndTheNextRequestIsServed) {
    int failures = 0;
    for (long n = 0; n < 60; ++n) {
        fuse_entry_out e{};
        const std::string name = "f" + std::to_string(n);
        auto r = call(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, name, &e, sizeof(e), n);
        ASSERT_TRUE(r.ok()) << "allocation " << n << ": no decodable reply";
        if (!t_failed) {
            EXPECT_EQ(r->error, 0) << n;
            break;  // past the request's last allocation
        }
        ++failures;
        EXPECT_EQ(r->error, ENOMEM) << "allocation " << n;
        // The daemon serves on: the same name now resolves.
        fuse_entry_out again{};
        auto ok = call(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, name, &again, sizeof(again));
        ASSERT_TRUE(ok.ok());
        EXPECT_EQ(ok->error, 0) << "after failing allocation " << n;
    }
    EXPECT_GT(failures, 0) << "LOOKUP allocated nothing: the test proves nothing";
    RecordProperty("failed_allocations", failures);
}

// The vhost-user connection thread: SET_MEM_TABLE allocates (the region map); a failure is
// a REPLY_ACK failure with ENOMEM, and the connection serves the next message.
class NoQueues final : public vhost_user::Device {
  public:
    uint32_t num_queues() const override { return 1; }
    uint64_t features() const override { return 1ull << 32; }
    uint64_t protocol_features() const override { return 0; }
    Status read_config(uint32_t, std::span<uint8_t>) const override { return Error{EINVAL}; }
    Status start_queue(vhost_user::QueueSetup) override { return Error{EINVAL}; }
    uint16_t stop_queue(uint32_t) override { return 0; }
    void enable_queue(uint32_t, bool) override {}
    void reset() override {}
    void set_backend_channel(UniqueFd) override {}
};

TEST(VhostUserAllocFailure, FailedAllocationIsRefusedWithENOMEMAndServesOn) {
    namespace vu = vhost_user;
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    vu::Connection ours(UniqueFd{sv[0]}), theirs(UniqueFd{sv[1]});
    NoQueues device;
    vu::Backend backend(device);
    auto msg = std::make_unique<vu::Message>();
    auto reply = std::make_unique<vu::Message>();
    // Serves what `theirs` sent, failing allocation n of this thread.
    auto serve = [&](long n) {
        EXPECT_TRUE(ours.receive(msg.get()).ok());
        FailNth arm(n);
        return backend.handle(ours, *msg);
    };
    const uint64_t pf = vu::protocol_feature::kReplyAck;
    ASSERT_TRUE(theirs.send(
        {static_cast<uint32_t>(vu::Request::kSetProtocolFeatures), vu::kVersion, sizeof(pf)}, &pf));
    ASSERT_TRUE(serve(-1));

    UniqueFd mem(::memfd_create("alloc-test", MFD_CLOEXEC));
    ASSERT_EQ(::ftruncate(mem.get(), 1 << 20), 0);
    vu::MemoryTable t;
    t.num_regions = 1;
    t.regions[0] = vu::MemoryRegion{0, 1 << 20, 0x7f0000000000ull, 0};
    const uint32_t size = vu::kMemoryTableHeaderBytes + sizeof(vu::MemoryRegion);
    int failures = 0;
    for (long n = 0; n < 40; ++n) {
        const int fd = mem.get();
        ASSERT_TRUE(theirs.send({static_cast<uint32_t>(vu::Request::kSetMemTable),
                                 vu::kVersion | vu::kFlagNeedReply, size},
                                &t, &fd, 1));
        ASSERT_TRUE(serve(n)) << "allocation " << n << " closed the connection";
        const bool failed = t_failed;
        auto got = theirs.receive(reply.get());
        ASSERT_TRUE(got && *got);
        ASSERT_EQ(reply->hdr.size, sizeof(uint64_t));
        const auto ack = vu::payload_as<uint64_t>(reply->payload);
        if (!failed) {
            EXPECT_EQ(ack, 0u);
            break;
        }
        ++failures;
        EXPECT_EQ(ack, static_cast<uint64_t>(ENOMEM)) << "allocation " << n;
        // Serves on.
        ASSERT_TRUE(theirs.send({static_cast<uint32_t>(vu::Request::kGetFeatures), vu::kVersion, 0},
                                nullptr));
        ASSERT_TRUE(serve(-1));
        ASSERT_TRUE(theirs.receive(reply.get()).ok());
        EXPECT_EQ(reply->hdr.request, static_cast<uint32_t>(vu::Request::kGetFeatures));
    }
    EXPECT_GT(failures, 0);
    RecordProperty("failed_allocations", failures);
}

}  // namespace
}  // namespace vfs::host
