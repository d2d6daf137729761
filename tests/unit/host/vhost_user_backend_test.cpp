// vhost_user::Backend over a socketpair, with a fake Device behind it: the handshake and
// the ring cycle reach the device interface, config bytes come from the device, and a
// refused message is answered with a REPLY_ACK failure while the connection keeps
// serving (only a malformed message, or a refusal nobody asked to hear, ends it).
#include "vhost_user/backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "vhost_user/server.h"
#include "vhost_user_client.h"

namespace vfs::host::vhost_user {
namespace {

using vfs::frontend::VhostUserClient;

// Records what the protocol layer tells it; answers with values a test can recognise.
class FakeDevice final : public Device {
  public:
    static constexpr uint64_t kFeatures = feature::kVersion1 | feature::kRingEventIdx;
    static constexpr uint16_t kStoppedAt = 42;

    uint32_t num_queues() const override { return 3; }
    uint64_t features() const override { return kFeatures | (with_log ? feature::kLogAll : 0); }
    uint64_t protocol_features() const override {
        return protocol_feature::kConfig | (with_state ? protocol_feature::kDeviceState : 0) |
               (with_log ? protocol_feature::kLogShmfd : 0);
    }
    vfs::wire::Status read_config(uint32_t offset, std::span<uint8_t> out) const override {
        for (size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<uint8_t>((offset + i) ^ 0x5a);
        return {};
    }
    vfs::wire::Status start_queue(QueueSetup q) override {
        std::lock_guard<std::mutex> lock(mu);
        if (q.index == refuse_start_of) return vfs::wire::Error{ENOMEM};
        Started s{q.index,
                  q.size,
                  q.base,
                  q.features,
                  q.enabled,
                  q.kick.valid(),
                  q.rings.desc && q.rings.avail && q.rings.used,
                  q.call && q.err && q.memory};
        started.push_back(s);
        dirty_log = q.dirty_log;
        used_log = q.used_log;
        return {};
    }
    uint16_t stop_queue(uint32_t index) override {
        std::lock_guard<std::mutex> lock(mu);
        stopped.push_back(index);
        return kStoppedAt;
    }
    void enable_queue(uint32_t index, bool on) override {
        std::lock_guard<std::mutex> lock(mu);
        enabled.emplace_back(index, on);
    }
    void reset() override {
        std::lock_guard<std::mutex> lock(mu);
        ++resets;
    }
    void set_backend_channel(UniqueFd channel) override {
        std::lock_guard<std::mutex> lock(mu);
        channel_valid = channel.valid();
    }
    DeviceStateHandler* device_state() override { return with_state ? &state : nullptr; }

    // Writes "state" on save (the pipe holds it), records a load; the check reports
    // what the test told it to.
    struct FakeState final : DeviceStateHandler {
        vfs::wire::Status begin_transfer(StateDirection dir, UniqueFd fd) override {
            dirs.push_back(dir);
            if (dir == StateDirection::kSave && ::write(fd.get(), "state", 5) != 5)
                return vfs::wire::Error{EIO};
            begun = true;
            return {};
        }
        vfs::wire::Status finish_transfer() override {
            if (!begun) return vfs::wire::Error{EINVAL};
            begun = false;
            return fail_check ? vfs::wire::Status{vfs::wire::Error{EIO}} : vfs::wire::Status{};
        }
        std::vector<StateDirection> dirs;
        bool begun = false;
        bool fail_check = false;
    };
    bool with_state = false;
    FakeState state;
    bool with_log = false;  // offers VHOST_F_LOG_ALL and LOG_SHMFD
    memory::DirtyLogHandle* dirty_log = nullptr;
    const memory::UsedRingLog* used_log = nullptr;

    struct Started {
        uint32_t index, size;
        uint16_t base;
        uint64_t features;
        bool enabled, kick, rings, notifiers;
    };
    std::mutex mu;
    uint32_t refuse_start_of = ~0u;
    std::vector<Started> started;
    std::vector<uint32_t> stopped;
    std::vector<std::pair<uint32_t, bool>> enabled;
    int resets = 0;
    bool channel_valid = false;
};

class BackendTest : public ::testing::Test {
  protected:
    void SetUp() override {
        int sv[2];
        ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        client_ = std::make_unique<VhostUserClient>(UniqueFd(sv[0]));
        conn_ = Connection(UniqueFd(sv[1]));
        backend_ = std::make_unique<Backend>(device_);
        served_ = std::async(std::launch::async,
                             [this] { return serve_connection(*backend_, conn_, -1); });
    }
    void TearDown() override {
        client_.reset();  // hang up: the serving loop ends
        (void)outcome();
        if (ram_) ::munmap(ram_, kRam);
    }

    // How serving ended (waits for it).
    std::optional<ServeOutcome> outcome() {
        if (!served_.valid()) return last_;
        if (served_.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
            return std::nullopt;
        auto r = served_.get();
        last_ = r ? std::optional(*r) : std::nullopt;
        return last_;
    }

    // Sends a request with NEED_REPLY set and returns the REPLY_ACK payload.
    std::optional<uint64_t> acked_raw(Request req, const void* payload, uint32_t size,
                                      const int* fds = nullptr, uint32_t nfds = 0) {
        const Header h{static_cast<uint32_t>(req), kVersion | kFlagNeedReply, size};
        if (!client_->connection().send(h, payload, fds, nfds)) return std::nullopt;
        auto reply = receive();
        if (!reply || reply->hdr.request != h.request || reply->hdr.size != sizeof(uint64_t))
            return std::nullopt;
        return payload_as<uint64_t>(reply->payload);
    }
    template <class T>
    std::optional<uint64_t> acked(Request req, const T& v, const int* fds = nullptr,
                                  uint32_t nfds = 0) {
        return acked_raw(req, &v, sizeof(T), fds, nfds);
    }
    std::unique_ptr<Message> receive() {
        auto m = std::make_unique<Message>();
        auto got = client_->connection().receive(m.get());
        if (!got || !*got || !(m->hdr.flags & kFlagReply)) return nullptr;
        return m;
    }

    // GET/SET_PROTOCOL_FEATURES with REPLY_ACK (and CONFIG if asked), SET_FEATURES.
    void handshake(bool config = true) {
        const uint64_t pf = protocol_feature::kReplyAck | protocol_feature::kMq |
                            (config ? protocol_feature::kConfig : 0);
        ASSERT_TRUE(client_->send_obj(Request::kSetProtocolFeatures, pf));
        client_->set_reply_ack(true);
        ASSERT_TRUE(client_->send(Request::kSetOwner));
        ASSERT_TRUE(client_->send_obj(Request::kSetFeatures,
                                      FakeDevice::kFeatures | feature::kProtocolFeatures));
    }

    // 1 MiB of memfd guest memory at guest address 0, announced with SET_MEM_TABLE.
    void share_memory() {
        UniqueFd fd(::memfd_create("backend-test", MFD_CLOEXEC));
        ASSERT_TRUE(fd.valid());
        ASSERT_EQ(::ftruncate(fd.get(), kRam), 0);
        ram_ = ::mmap(nullptr, kRam, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        ASSERT_NE(ram_, MAP_FAILED);
        MemoryTable t;
        t.num_regions = 1;
        t.regions[0] = MemoryRegion{0, kRam, uva(0), 0};
        const int f = fd.get();
        ASSERT_TRUE(client_->send(Request::kSetMemTable, &t, kMemoryTableHeaderBytes + 32, &f, 1));
    }
    uint64_t uva(uint64_t offset) const { return reinterpret_cast<uint64_t>(ram_) + offset; }

    // SET_VRING_NUM/BASE/ADDR for ring q (8 entries, rings inside guest memory).
    void describe_ring(uint32_t q, uint16_t base) {
        ASSERT_TRUE(client_->send_obj(Request::kSetVringNum, VringState{q, 8}));
        ASSERT_TRUE(client_->send_obj(Request::kSetVringBase, VringState{q, base}));
        VringAddr a;
        a.index = q;
        a.desc_user_addr = uva(0);
        a.avail_user_addr = uva(4096);
        a.used_user_addr = uva(8192);
        ASSERT_TRUE(client_->send_obj(Request::kSetVringAddr, a));
    }

    static constexpr uint64_t kRam = 1 << 20;
    FakeDevice device_;
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<VhostUserClient> client_;
    Connection conn_;
    std::future<Result<ServeOutcome>> served_;
    std::optional<ServeOutcome> last_;
    void* ram_ = nullptr;
};

TEST_F(BackendTest, HandshakeAsksTheDevice) {
    auto f = client_->get_u64(Request::kGetFeatures);
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, FakeDevice::kFeatures | feature::kProtocolFeatures);
    auto pf = client_->get_u64(Request::kGetProtocolFeatures);
    ASSERT_TRUE(pf);
    EXPECT_EQ(*pf, kOfferedProtocolFeatures | protocol_feature::kConfig);
    handshake();
    auto n = client_->get_u64(Request::kGetQueueNum);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3u);
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ASSERT_TRUE(client_->send(Request::kSetBackendReqFd, nullptr, 0, &sv[1], 1));
    ::close(sv[0]);
    ::close(sv[1]);
    EXPECT_EQ(backend_->acked_features(), FakeDevice::kFeatures | feature::kProtocolFeatures);
    std::lock_guard<std::mutex> lock(device_.mu);
    EXPECT_TRUE(device_.channel_valid);
}

TEST_F(BackendTest, RingCycleReachesTheDevice) {
    handshake();
    share_memory();
    describe_ring(1, 5);
    UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
    const int k = kick.get();
    ASSERT_TRUE(client_->send_obj(Request::kSetVringKick, uint64_t{1}, &k, 1));
    ASSERT_TRUE(client_->send_obj(Request::kSetVringEnable, VringState{1, 1}));
    auto base = client_->get_vring_base(1);
    ASSERT_TRUE(base);
    EXPECT_EQ(base->num, FakeDevice::kStoppedAt);  // the device says where the ring stands

    std::lock_guard<std::mutex> lock(device_.mu);
    ASSERT_EQ(device_.started.size(), 1u);
    const auto& s = device_.started[0];
    EXPECT_EQ(s.index, 1u);
    EXPECT_EQ(s.size, 8u);
    EXPECT_EQ(s.base, 5u);
    EXPECT_EQ(s.features, FakeDevice::kFeatures | feature::kProtocolFeatures);
    EXPECT_FALSE(s.enabled);  // PROTOCOL_FEATURES acked: disabled until SET_VRING_ENABLE
    EXPECT_TRUE(s.kick);
    EXPECT_TRUE(s.rings);
    EXPECT_TRUE(s.notifiers);
    ASSERT_EQ(device_.enabled.size(), 1u);
    EXPECT_EQ(device_.enabled[0], std::make_pair(1u, true));
    EXPECT_EQ(device_.stopped, std::vector<uint32_t>{1});
}

TEST_F(BackendTest, ConfigBytesComeFromTheDevice) {
    handshake();
    struct {
        ConfigHeader h;
        uint8_t bytes[8];
    } in{}, out{};
    in.h.offset = 4;
    in.h.size = 8;
    ASSERT_TRUE(client_->call(Request::kGetConfig, &in, sizeof(in), &out, sizeof(out)));
    EXPECT_EQ(out.h.offset, 4u);
    EXPECT_EQ(out.h.size, 8u);
    for (uint32_t i = 0; i < 8; ++i)
        EXPECT_EQ(out.bytes[i], static_cast<uint8_t>((4 + i) ^ 0x5a)) << i;
}

TEST_F(BackendTest, RefusedMessagesGetAFailureAckAndTheConnectionServesOn) {
    handshake();
    // A feature never offered, a queue the device does not have, a request we never
    // offered, a kick fd that is no eventfd: each answered with the errno, none applied.
    EXPECT_EQ(acked(Request::kSetFeatures, uint64_t{1} << 63), uint64_t{EINVAL});
    EXPECT_EQ(backend_->acked_features(), FakeDevice::kFeatures | feature::kProtocolFeatures);
    EXPECT_EQ(acked(Request::kSetVringNum, VringState{3, 8}), uint64_t{EINVAL});
    const uint64_t rarp = 0;
    EXPECT_EQ(acked(Request::kSendRarp, rarp), uint64_t{ENOSYS});
    const Header unknown{99, kVersion | kFlagNeedReply, 0};
    ASSERT_TRUE(client_->connection().send(unknown, nullptr));
    auto r = receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->hdr.request, 99u);
    EXPECT_EQ(payload_as<uint64_t>(r->payload), uint64_t{ENOSYS});

    // The connection still serves: the next request gets its reply.
    auto f = client_->get_u64(Request::kGetFeatures);
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, FakeDevice::kFeatures | feature::kProtocolFeatures);
    EXPECT_FALSE(served_.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready);
}

TEST_F(BackendTest, RingTheDeviceCannotServeStaysStopped) {
    handshake();
    share_memory();
    describe_ring(2, 7);
    {
        std::lock_guard<std::mutex> lock(device_.mu);
        device_.refuse_start_of = 2;
    }
    UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
    const int k = kick.get();
    EXPECT_EQ(acked(Request::kSetVringKick, uint64_t{2}, &k, 1), uint64_t{ENOMEM});
    // Stopped: GET_VRING_BASE returns the base as set and never asks the device.
    auto base = client_->get_vring_base(2);
    ASSERT_TRUE(base);
    EXPECT_EQ(base->num, 7u);
    std::lock_guard<std::mutex> lock(device_.mu);
    EXPECT_TRUE(device_.started.empty());
    EXPECT_TRUE(device_.stopped.empty());
}

TEST_F(BackendTest, ConfigRefusalIsAnEmptyReply) {
    handshake(/*config=*/false);
    struct {
        ConfigHeader h;
        uint8_t bytes[8];
    } in{};
    in.h.size = 8;
    const Header h{static_cast<uint32_t>(Request::kGetConfig), kVersion, sizeof(in)};
    ASSERT_TRUE(client_->connection().send(h, &in));
    auto r = receive();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->hdr.request, h.request);
    EXPECT_EQ(r->hdr.size, 0u);
    EXPECT_TRUE(client_->get_u64(Request::kGetQueueNum));
}

TEST_F(BackendTest, RefusalWithoutAnAckEndsTheConnection) {
    handshake();
    client_->set_reply_ack(false);
    ASSERT_TRUE(client_->send_obj(Request::kSetVringNum, VringState{3, 8}));
    EXPECT_TRUE(client_->peer_closed(5000));
    const auto o = outcome();
    ASSERT_TRUE(o);
    EXPECT_TRUE(*o == ServeOutcome::kProtocolError);
}

TEST_F(BackendTest, MalformedMessageEndsTheConnectionEvenWithAnAck) {
    handshake();
    const uint32_t half = 0;
    const Header h{static_cast<uint32_t>(Request::kSetFeatures), kVersion | kFlagNeedReply, 4};
    ASSERT_TRUE(client_->connection().send(h, &half));
    EXPECT_TRUE(client_->peer_closed(5000));
    const auto o = outcome();
    ASSERT_TRUE(o);
    EXPECT_TRUE(*o == ServeOutcome::kProtocolError);
}

TEST_F(BackendTest, ResetDeviceStopsRingsAndResetsTheDevice) {
    handshake();
    share_memory();
    describe_ring(0, 0);
    UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
    const int k = kick.get();
    ASSERT_TRUE(client_->send_obj(Request::kSetVringKick, uint64_t{0}, &k, 1));
    ASSERT_TRUE(client_->send(Request::kResetDevice));
    std::lock_guard<std::mutex> lock(device_.mu);
    EXPECT_EQ(device_.stopped, std::vector<uint32_t>{0});
    EXPECT_EQ(device_.resets, 1);
}

// A blocking call eventfd whose counter a front-end saturated would block the worker's
// signal forever: the backend makes call and err fds non-blocking when it takes them (the
// flag lives on the open file, which the front-end shares).
TEST_F(BackendTest, CallAndErrFdsBecomeNonBlocking) {
    handshake();
    for (Request r : {Request::kSetVringCall, Request::kSetVringErr}) {
        UniqueFd efd(::eventfd(0, EFD_CLOEXEC));  // blocking, as a front-end may give it
        const int fd = efd.get();
        const uint64_t index = 1;
        auto ack = acked(r, index, &fd, 1);
        ASSERT_TRUE(ack.has_value()) << request_name(static_cast<uint32_t>(r));
        EXPECT_EQ(*ack, 0u);
        EXPECT_TRUE(::fcntl(fd, F_GETFL) & O_NONBLOCK) << request_name(static_cast<uint32_t>(r));
    }
}

// A pipe as a call or err fd is refused like a pipe as a kick fd.
TEST_F(BackendTest, CallAndErrFdsMustBeEventfds) {
    handshake();
    for (Request r : {Request::kSetVringCall, Request::kSetVringErr}) {
        int p[2];
        ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
        UniqueFd rd(p[0]), wr(p[1]);
        const uint64_t index = 1;
        auto ack = acked(r, index, &p[1], 1);
        ASSERT_TRUE(ack.has_value());
        EXPECT_EQ(*ack, static_cast<uint64_t>(EINVAL));
    }
}

}  // namespace
}  // namespace vfs::host::vhost_user

namespace vfs::host::vhost_user {
namespace {

class DeviceStateTest : public BackendTest {
  protected:
    void SetUp() override {
        device_.with_state = true;
        BackendTest::SetUp();
    }
    // SET_DEVICE_STATE_FD with one end of a new pipe; returns the reply's u64 and keeps the
    // other end in `other`.
    std::optional<uint64_t> set_state_fd(uint32_t dir, uint32_t phase, UniqueFd* other) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
        const int give = dir == 0 ? p[1] : p[0];
        other->reset(dir == 0 ? p[0] : p[1]);
        const DeviceStateParams params{dir, phase};
        const Header h{static_cast<uint32_t>(Request::kSetDeviceStateFd), kVersion, sizeof(params)};
        std::optional<uint64_t> r;
        if (client_->connection().send(h, &params, &give, 1)) {
            auto m = receive();
            if (m && m->hdr.size == sizeof(uint64_t)) r = payload_as<uint64_t>(m->payload);
        }
        ::close(give);
        return r;
    }
    std::optional<uint64_t> check() {
        uint64_t v = 0;
        if (!client_->call(Request::kCheckDeviceState, nullptr, 0, &v, sizeof(v))) return {};
        return v;
    }
    void ack_device_state() {
        const uint64_t pf = protocol_feature::kReplyAck | protocol_feature::kDeviceState;
        ASSERT_TRUE(client_->send_obj(Request::kSetProtocolFeatures, pf));
        client_->set_reply_ack(true);
        ASSERT_TRUE(client_->send(Request::kSetOwner));
    }
};

TEST_F(DeviceStateTest, OfferedOnlyWhenTheDeviceHasState) {
    auto pf = client_->get_u64(Request::kGetProtocolFeatures);
    ASSERT_TRUE(pf);
    EXPECT_TRUE(*pf & protocol_feature::kDeviceState);
}

TEST_F(DeviceStateTest, SaveAndLoadUseTheFrontEndsPipeAndTheCheckReports) {
    ack_device_state();
    UniqueFd read_end;
    EXPECT_EQ(set_state_fd(0, 0, &read_end), kDeviceStateNoFd) << "success, no fd back";
    char buf[8] = {};
    EXPECT_EQ(::read(read_end.get(), buf, sizeof(buf)), 5);
    EXPECT_EQ(check(), 0u);
    UniqueFd write_end;
    EXPECT_EQ(set_state_fd(1, 0, &write_end), kDeviceStateNoFd);
    device_.state.fail_check = true;
    EXPECT_EQ(check(), 1u) << "a failed transfer is a non-zero check";
    EXPECT_EQ(check(), 1u) << "a check with no transfer begun fails too";
    ASSERT_EQ(device_.state.dirs.size(), 2u);
    EXPECT_EQ(device_.state.dirs[1], StateDirection::kLoad);
}

TEST_F(DeviceStateTest, RefusalsAreFailureRepliesAndTheConnectionServesOn) {
    UniqueFd other;
    // Not acked yet: refused in the reply.
    auto r = set_state_fd(0, 0, &other);
    ASSERT_TRUE(r);
    EXPECT_NE(*r & 0xff, 0u);
    EXPECT_TRUE(*r & kDeviceStateNoFd) << "never an fd with an error";
    ack_device_state();
    r = set_state_fd(0, 1, &other);  // a phase the spec does not define
    ASSERT_TRUE(r);
    EXPECT_NE(*r & 0xff, 0u);
    r = set_state_fd(2, 0, &other);  // no such direction
    ASSERT_TRUE(r);
    EXPECT_NE(*r & 0xff, 0u);
    // While a ring runs the device state cannot be taken.
    ASSERT_TRUE(client_->send_obj(Request::kSetFeatures,
                                  FakeDevice::kFeatures | feature::kProtocolFeatures));
    share_memory();
    describe_ring(1, 0);
    UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
    const int k = kick.get();
    ASSERT_TRUE(client_->send_obj(Request::kSetVringKick, uint64_t{1}, &k, 1));
    r = set_state_fd(0, 0, &other);
    ASSERT_TRUE(r);
    EXPECT_NE(*r & 0xff, 0u);
    EXPECT_TRUE(device_.state.dirs.empty()) << "the device never saw a refused transfer";
    ASSERT_TRUE(client_->get_vring_base(1));
    EXPECT_EQ(set_state_fd(0, 0, &other), kDeviceStateNoFd) << "stopped: served";
    EXPECT_EQ(check(), 0u);
}

}  // namespace
}  // namespace vfs::host::vhost_user

namespace vfs::host::vhost_user {
namespace {

// SET_LOG_BASE, SET_LOG_FD, LOG_ALL and the used ring's log flag, as QEMU sends them when a
// migration starts on running rings: what is accepted, what is refused (a failure in
// SET_LOG_BASE's own u64 reply, or a REPLY_ACK failure), and the connection serving on.
class DirtyLogTest : public BackendTest {
  protected:
    void SetUp() override {
        device_.with_log = true;
        BackendTest::SetUp();
    }
    void ack_log_shmfd(bool log_shmfd = true) {
        const uint64_t pf =
            protocol_feature::kReplyAck | (log_shmfd ? protocol_feature::kLogShmfd : 0);
        ASSERT_TRUE(client_->send_obj(Request::kSetProtocolFeatures, pf));
        client_->set_reply_ack(true);
        ASSERT_TRUE(client_->send(Request::kSetOwner));
        ASSERT_TRUE(client_->send_obj(Request::kSetFeatures, features(false)));
    }
    static uint64_t features(bool log_all) {
        return FakeDevice::kFeatures | feature::kProtocolFeatures |
               (log_all ? feature::kLogAll : 0);
    }
    // SET_LOG_BASE as QEMU sends it (no NEED_REPLY: under LOG_SHMFD it has its own reply);
    // the reply's u64, or nothing if there was no well-formed reply.
    std::optional<uint64_t> set_log_base(int fd, uint64_t size, uint64_t offset = 0) {
        const LogParams p{size, offset};
        const Header h{static_cast<uint32_t>(Request::kSetLogBase), kVersion, sizeof(p)};
        if (!client_->connection().send(h, &p, fd >= 0 ? &fd : nullptr, fd >= 0 ? 1 : 0))
            return std::nullopt;
        auto m = receive();
        if (!m || m->hdr.request != h.request || m->hdr.size != sizeof(uint64_t))
            return std::nullopt;
        return payload_as<uint64_t>(m->payload);
    }
    static UniqueFd memfd(uint64_t bytes) {
        UniqueFd fd(::memfd_create("log-test", MFD_CLOEXEC));
        if (fd.valid() && ::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) fd.reset();
        return fd;
    }
    // kRam (1 MiB, 256 pages) needs 32 bytes of log.
    static constexpr uint64_t kLogBytes = kRam / 4096 / 8;
};

TEST_F(DirtyLogTest, OfferedWhenTheDeviceLogs) {
    auto f = client_->get_u64(Request::kGetFeatures);
    ASSERT_TRUE(f);
    EXPECT_TRUE(*f & feature::kLogAll);
    auto pf = client_->get_u64(Request::kGetProtocolFeatures);
    ASSERT_TRUE(pf);
    EXPECT_TRUE(*pf & protocol_feature::kLogShmfd);
}

TEST_F(DirtyLogTest, ALogIsMappedReplacedAndActiveOnlyWithLogAll) {
    ack_log_shmfd();
    share_memory();
    UniqueFd a = memfd(kLogBytes);
    EXPECT_EQ(set_log_base(a.get(), kLogBytes), 0u);
    auto first = backend_->dirty_log().get();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->size(), kLogBytes);
    EXPECT_FALSE(backend_->dirty_log().active()) << "not before LOG_ALL";
    EXPECT_EQ(acked(Request::kSetFeatures, features(true)), 0u);
    EXPECT_TRUE(backend_->dirty_log().active());
    // The new log (grown memory) replaces the old one.
    UniqueFd b = memfd(2 * kLogBytes);
    EXPECT_EQ(set_log_base(b.get(), 2 * kLogBytes), 0u);
    ASSERT_NE(backend_->dirty_log().get(), nullptr);
    EXPECT_NE(backend_->dirty_log().get(), first);
    EXPECT_EQ(backend_->dirty_log().get()->size(), 2 * kLogBytes);
    first.reset();
    EXPECT_EQ(acked(Request::kSetFeatures, features(false)), 0u);
    EXPECT_FALSE(backend_->dirty_log().active()) << "LOG_ALL cleared: the migration ended";
    // A reset drops the log.
    ASSERT_TRUE(client_->send(Request::kResetDevice));
    EXPECT_EQ(backend_->dirty_log().get(), nullptr);
}

TEST_F(DirtyLogTest, BadLogsAreRefusedInTheReplyAndTheConnectionServesOn) {
    ack_log_shmfd();
    share_memory();
    UniqueFd good = memfd(kLogBytes);
    ASSERT_EQ(set_log_base(good.get(), kLogBytes), 0u);
    const auto kept = backend_->dirty_log().get();
    UniqueFd small = memfd(kLogBytes);
    EXPECT_EQ(set_log_base(small.get(), kLogBytes / 2), uint64_t{EINVAL})
        << "covers half the memory table";
    EXPECT_EQ(set_log_base(good.get(), 0), uint64_t{EINVAL}) << "empty";
    EXPECT_EQ(set_log_base(good.get(), kLogBytes, 8), uint64_t{EINVAL}) << "past the fd's end";
    EXPECT_EQ(set_log_base(good.get(), kLogBytes, ~0ull - 4), uint64_t{EINVAL}) << "wraps";
    EXPECT_EQ(set_log_base(good.get(), (1ull << 30) + 8), uint64_t{EINVAL}) << "too large";
    EXPECT_EQ(set_log_base(-1, kLogBytes), uint64_t{EINVAL}) << "no fd";
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    EXPECT_EQ(set_log_base(rd.get(), kLogBytes), uint64_t{EINVAL}) << "a pipe";
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    EXPECT_EQ(set_log_base(efd.get(), kLogBytes), uint64_t{EINVAL}) << "an eventfd";
    EXPECT_EQ(backend_->dirty_log().get(), kept) << "a refusal changes nothing";
    // Two fds, or a payload of the wrong size: malformed, not refused (checked separately).
    auto f = client_->get_u64(Request::kGetFeatures);
    ASSERT_TRUE(f) << "the connection serves on";
}

TEST_F(DirtyLogTest, SetLogBaseWithoutLogShmfdIsAFailureAck) {
    ack_log_shmfd(/*log_shmfd=*/false);
    UniqueFd fd = memfd(kLogBytes);
    const LogParams params{kLogBytes, 0};
    const int f = fd.get();
    EXPECT_EQ(acked(Request::kSetLogBase, params, &f, 1), uint64_t{EINVAL});
    EXPECT_EQ(backend_->dirty_log().get(), nullptr);
    EXPECT_TRUE(client_->get_u64(Request::kGetFeatures));
}

TEST_F(DirtyLogTest, LogFdMustBeAnEventfd) {
    ack_log_shmfd();
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    EXPECT_EQ(acked_raw(Request::kSetLogFd, nullptr, 0, &p[1], 1), uint64_t{EINVAL});
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    const int e = efd.get();
    EXPECT_EQ(acked_raw(Request::kSetLogFd, nullptr, 0, &e, 1), 0u);
    EXPECT_TRUE(backend_->dirty_log().log_call().valid());
}

// QEMU turns the used ring's logging on and off with SET_VRING_ADDR on a running ring:
// served when only the flag and log address change; moving the rings stays refused.
TEST_F(DirtyLogTest, UsedRingLoggingChangesOnARunningRing) {
    ack_log_shmfd();
    share_memory();
    describe_ring(1, 0);
    UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
    const int k = kick.get();
    ASSERT_TRUE(client_->send_obj(Request::kSetVringKick, uint64_t{1}, &k, 1));
    ASSERT_NE(device_.used_log, nullptr);
    EXPECT_EQ(device_.dirty_log, &backend_->dirty_log());
    uint64_t gpa = 0;
    EXPECT_FALSE(device_.used_log->get(&gpa));
    VringAddr a;
    a.index = 1;
    a.desc_user_addr = uva(0);
    a.avail_user_addr = uva(4096);
    a.used_user_addr = uva(8192);
    a.flags = kVringAddrFlagLog;
    a.log_guest_addr = 8192;
    EXPECT_EQ(acked(Request::kSetVringAddr, a), 0u);
    ASSERT_TRUE(device_.used_log->get(&gpa));
    EXPECT_EQ(gpa, 8192u);
    VringAddr moved = a;
    moved.used_user_addr = uva(12288);
    EXPECT_EQ(acked(Request::kSetVringAddr, moved), uint64_t{EBUSY});
    ASSERT_TRUE(device_.used_log->get(&gpa)) << "a refusal changes nothing";
    a.flags = 0;
    EXPECT_EQ(acked(Request::kSetVringAddr, a), 0u);
    EXPECT_FALSE(device_.used_log->get(&gpa));
    std::lock_guard<std::mutex> lock(device_.mu);
    EXPECT_TRUE(device_.stopped.empty()) << "the ring ran on";
}

TEST_F(BackendTest, LogFlagRefusedWhenTheDeviceDoesNotLog) {
    handshake();
    VringAddr a;
    a.index = 1;
    a.flags = kVringAddrFlagLog;
    EXPECT_EQ(acked(Request::kSetVringAddr, a), uint64_t{EINVAL});
    auto f = client_->get_u64(Request::kGetFeatures);
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f & feature::kLogAll);
}

}  // namespace
}  // namespace vfs::host::vhost_user
