// The in-process frontend against every backend it may meet (ours, Rust virtiofsd, QEMU's
// C virtiofsd): handshake, memory and queue set-up, FUSE round trips, pipelining across
// queues, and the ring stop/start cycle (resume, and a guest reboot with fresh rings).
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>

#include "backends.h"
#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
namespace vu = vfs::host::vhost_user;

class FrontendInterop : public ::testing::TestWithParam<BackendKind> {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-interop");
        ASSERT_FALSE(dir_.empty());
        socket_ = dir_ + "/vhost.sock";
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        log_ = dir_ + "/daemon.log";
        const auto argv = backend_argv(GetParam(), socket_, share_);
        if (argv.empty()) {
            const std::string why = std::string(backend_name(GetParam())) +
                                    " is not available (tools/peers script failed or binary "
                                    "missing): interop not tested";
            if (peers_required()) FAIL() << why << ", and CI=true requires every peer";
            GTEST_SKIP() << why;
        }
        ASSERT_TRUE(daemon_.spawn(argv, log_));
        if (!daemon_.wait_for_socket(socket_)) {
            if (GetParam() == BackendKind::kOurs) FAIL() << daemon_.log();
            if (peers_required())
                FAIL() << backend_name(GetParam()) << " did not start. Its log:\n" << daemon_.log();
            GTEST_SKIP() << backend_name(GetParam())
                         << " did not start here, interop not tested. Its log:\n"
                         << daemon_.log();
        }
        FrontendOptions o;
        o.num_queues = 1 + backend_request_queues(GetParam());
        auto f = Frontend::connect(socket_, o);
        ASSERT_TRUE(f) << strerror(f.error());
        fe_ = std::move(*f);
    }

    void TearDown() override {
        fe_.reset();
        if (GetParam() == BackendKind::kOurs && daemon_.pid() > 0) {
            // Like virtiofsd: the daemon exits 0 once its front-end is gone.
            auto st = daemon_.wait_exit(5000);
            ASSERT_TRUE(st.has_value()) << "daemon did not exit after disconnect";
            EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << daemon_.log();
        }
        daemon_.terminate();
        std::filesystem::remove_all(dir_);
    }

    static std::vector<uint8_t> getattr_request(uint64_t unique) {
        return vfs::slowfs::getattr_request(unique, FUSE_ROOT_ID);
    }

    // A reply is well formed: header with our unique and a length equal to what was written.
    static void expect_reply(const std::vector<uint8_t>& r, uint64_t unique) {
        ASSERT_GE(r.size(), sizeof(fuse_out_header));
        fuse_out_header oh;
        memcpy(&oh, r.data(), sizeof(oh));
        EXPECT_EQ(oh.unique, unique);
        EXPECT_EQ(oh.len, r.size());
        EXPECT_LE(oh.error, 0);
    }

    std::string dir_, socket_, share_, log_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_P(FrontendInterop, HandshakeMemoryQueuesAndFuseInit) {
    ASSERT_TRUE(fe_->setup()) << daemon_.log();
    const auto& n = fe_->negotiated();
    EXPECT_TRUE(n.features & vu::feature::kVersion1);
    EXPECT_TRUE(n.features & vu::feature::kProtocolFeatures);
    auto init = fe_->fuse_init(1);
    ASSERT_TRUE(init) << strerror(init.error()) << "\n" << daemon_.log();
    EXPECT_EQ(init->major, 7u);
    EXPECT_GE(init->minor, 12u);
    if (GetParam() == BackendKind::kOurs) {
        namespace f = vu::feature;
        namespace pf = vu::protocol_feature;
        EXPECT_EQ(n.offered_features, f::kVersion1 | f::kRingIndirectDesc | f::kRingEventIdx |
                                          f::kProtocolFeatures | f::kLogAll);
        EXPECT_EQ(n.offered_protocol_features, pf::kMq | pf::kReplyAck | pf::kBackendReq |
                                                   pf::kBackendSendFd | pf::kConfigureMemSlots |
                                                   pf::kResetDevice | pf::kStatus |
                                                   pf::kDeviceState | pf::kLogShmfd);
        EXPECT_GE(n.max_mem_slots, 509u);
        EXPECT_EQ(n.queue_num, 4u);
    }
}

TEST_P(FrontendInterop, PipelinedRequestsAcrossQueues) {
    ASSERT_TRUE(fe_->setup()) << daemon_.log();
    ASSERT_TRUE(fe_->fuse_init(1));
    // Two descriptors per request: up to 60 in flight per 128-entry request queue.
    const uint32_t rq = fe_->num_queues() - 1;
    const int kInFlight = static_cast<int>(std::min<uint32_t>(96, 60 * rq));
    std::vector<Frontend::Ticket> tickets;
    std::vector<uint64_t> uniques;
    for (int i = 0; i < kInFlight; ++i) {
        const uint64_t u = fe_->next_unique();
        auto t = fe_->submit(1 + (i % rq), getattr_request(u),
                             sizeof(fuse_out_header) + sizeof(fuse_attr_out));
        ASSERT_TRUE(t) << strerror(t.error());
        tickets.push_back(*t);
        uniques.push_back(u);
    }
    for (int i = kInFlight - 1; i >= 0; --i) {  // reverse order: completions are unordered
        auto r = fe_->wait(tickets[i]);
        ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        expect_reply(*r, uniques[i]);
    }
}

TEST_P(FrontendInterop, RingStopStartResumesAndSurvivesReboot) {
    ASSERT_TRUE(fe_->setup()) << daemon_.log();
    ASSERT_TRUE(fe_->fuse_init(1));
    for (int i = 0; i < 3; ++i) {
        const uint64_t u = fe_->next_unique();
        auto r = fe_->request(1, getattr_request(u), 256);
        ASSERT_TRUE(r);
        expect_reply(*r, u);
    }
    // Stop: the backend reports where it stopped (four chains popped), then resumes there.
    auto base = fe_->stop_queue(1);
    ASSERT_TRUE(base) << strerror(base.error()) << "\n" << daemon_.log();
    EXPECT_EQ(*base, 4u);
    ASSERT_TRUE(fe_->start_queue(1)) << daemon_.log();
    {
        const uint64_t u = fe_->next_unique();
        auto r = fe_->request(1, getattr_request(u), 256);
        ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        expect_reply(*r, u);
    }
    // A guest reboot: the rings are rebuilt from zero and the backend starts at index 0.
    ASSERT_TRUE(fe_->stop_queue(1));
    ASSERT_TRUE(fe_->reset_queue(1));
    ASSERT_TRUE(fe_->start_queue(1)) << daemon_.log();
    // The restarted ring serves the old session...
    {
        const uint64_t u = fe_->next_unique();
        auto r = fe_->request(1, getattr_request(u), 256);
        ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        expect_reply(*r, u);
    }
    // ...and the rebooted guest's kernel mounts again: its INIT starts a new session.
    auto again = fe_->fuse_init(1);
    ASSERT_TRUE(again) << strerror(again.error()) << "\n" << daemon_.log();
    EXPECT_EQ(again->major, 7u);
    const uint64_t u = fe_->next_unique();
    auto r = fe_->request(1, getattr_request(u), 256);
    ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
    expect_reply(*r, u);
}

INSTANTIATE_TEST_SUITE_P(Backends, FrontendInterop,
                         ::testing::Values(BackendKind::kOurs, BackendKind::kRust, BackendKind::kC),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

}  // namespace
}  // namespace vfs::test
