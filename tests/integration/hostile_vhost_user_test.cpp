// Hostile front-ends against virtiofsd-cxx: malformed vhost-user messages must close the
// connection (the daemon then exits with status 1, never by a signal), and hostile
// descriptor chains must mark only their queue broken (err eventfd signalled) while the
// other queues keep serving. Each case gets a fresh daemon.
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>

#include "backends.h"
#include "daemon_process.h"
#include "frontend.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
namespace vu = vfs::host::vhost_user;

class DaemonFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-hostile");
        ASSERT_FALSE(dir_.empty());
        socket_ = dir_ + "/vhost.sock";
        std::filesystem::create_directory(dir_ + "/share");
        ASSERT_TRUE(daemon_.spawn(backend_argv(BackendKind::kOurs, socket_, dir_ + "/share"),
                                  dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
    }
    void TearDown() override {
        daemon_.terminate();
        std::filesystem::remove_all(dir_);
    }

    // The daemon refused the connection and exited 1 on its own, not by a signal.
    void expect_refused_and_clean_exit(vfs::frontend::VhostUserClient& c) {
        EXPECT_TRUE(c.peer_closed(5000)) << "daemon kept the connection open\n" << daemon_.log();
        auto st = daemon_.wait_exit(5000);
        ASSERT_TRUE(st.has_value()) << "daemon did not exit\n" << daemon_.log();
        ASSERT_TRUE(WIFEXITED(*st)) << "daemon died by signal " << WTERMSIG(*st) << "\n"
                                    << daemon_.log();
        EXPECT_EQ(WEXITSTATUS(*st), 1) << daemon_.log();
        EXPECT_NE(daemon_.log().find("error"), std::string::npos) << daemon_.log();
    }

    std::string dir_, socket_;
    DaemonProcess daemon_;
};

// ---- malformed messages ---------------------------------------------------------------

struct RawCase {
    const char* name;
    // Sends the hostile message(s) on a fresh connection (after the common preamble).
    std::function<void(vu::Connection&, Frontend&)> send;
};

vu::Header hdr(vu::Request r, uint32_t size, uint32_t flags = vu::kVersion) {
    return vu::Header{static_cast<uint32_t>(r), flags, size};
}

int an_eventfd() {
    return ::dup(STDERR_FILENO);  // any fd will do where the fd count is what is wrong
}

const RawCase kRawCases[] = {
    {"UnknownRequest",
     [](vu::Connection& c, Frontend&) {
         (void)c.send(vu::Header{99, vu::kVersion, 0}, nullptr);
     }},
    {"NotOfferedRequestSetLogBase",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 0;
         (void)c.send(hdr(vu::Request::kSetLogBase, 8), &v);
     }},
    {"WrongVersion",
     [](vu::Connection& c, Frontend&) {
         (void)c.send(hdr(vu::Request::kGetFeatures, 0, 0), nullptr);
     }},
    {"GetFeaturesWithPayload",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 0;
         (void)c.send(hdr(vu::Request::kGetFeatures, 8), &v);
     }},
    {"SetFeaturesShort",
     [](vu::Connection& c, Frontend&) {
         uint32_t v = 0;
         (void)c.send(hdr(vu::Request::kSetFeatures, 4), &v);
     }},
    {"SetFeaturesNeverOffered",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 1ull << 63;
         (void)c.send(hdr(vu::Request::kSetFeatures, 8), &v);
     }},
    {"SetProtocolFeaturesNeverOffered",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = vu::protocol_feature::kConfig;  // no --tag: not offered
         (void)c.send(hdr(vu::Request::kSetProtocolFeatures, 8), &v);
     }},
    {"QueueIndexOutOfRange",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1000, 128};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(s)), &s);
     }},
    {"QueueSizeNotPowerOfTwo",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1, 100};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(s)), &s);
     }},
    {"VringEnableBadState",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1, 2};
         (void)c.send(hdr(vu::Request::kSetVringEnable, sizeof(s)), &s);
     }},
    {"KickWithoutFd",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 1;
         (void)c.send(hdr(vu::Request::kSetVringKick, 8), &v);
     }},
    {"CallWithTwoFds",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 1;
         int fds[2] = {an_eventfd(), an_eventfd()};
         (void)c.send(hdr(vu::Request::kSetVringCall, 8), &v, fds, 2);
         ::close(fds[0]);
         ::close(fds[1]);
     }},
    {"KickReservedBits",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 1 | (1ull << 40);
         int fd = an_eventfd();
         (void)c.send(hdr(vu::Request::kSetVringKick, 8), &v, &fd, 1);
         ::close(fd);
     }},
    {"BackendReqFdWithoutFd",
     [](vu::Connection& c, Frontend&) {
         (void)c.send(hdr(vu::Request::kSetBackendReqFd, 0), nullptr);
     }},
    {"MemTableTooManyRegions",
     [](vu::Connection& c, Frontend&) {
         vu::MemoryTable t;
         t.num_regions = 9;
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 8 * 32), &t);
     }},
    {"MemTableFdCountMismatch",
     [](vu::Connection& c, Frontend& f) {
         vu::MemoryTable t;
         t.num_regions = 1;
         t.regions[0] = f.ram().regions()[0];
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 32), &t);
     }},
    {"MemTableRegionWraps",
     [](vu::Connection& c, Frontend& f) {
         vu::MemoryTable t;
         t.num_regions = 1;
         t.regions[0] = f.ram().regions()[0];
         t.regions[0].guest_phys_addr = ~0ull - 4096;
         int fd = f.ram().fd();
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 32), &t, &fd, 1);
     }},
    {"MemTableUnmappableFd",
     [](vu::Connection& c, Frontend& f) {
         vu::MemoryTable t;
         t.num_regions = 1;
         t.regions[0] = f.ram().regions()[0];
         int p[2];
         ASSERT_EQ(::pipe(p), 0);
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 32), &t, &p[0], 1);
         ::close(p[0]);
         ::close(p[1]);
     }},
    {"MemTableFdShorterThanRegion",
     [](vu::Connection& c, Frontend& f) {
         // A 4 KiB memfd for a region of megabytes: touching it past EOF would be SIGBUS.
         vu::MemoryTable t;
         t.num_regions = 1;
         t.regions[0] = f.ram().regions()[0];
         int fd = ::memfd_create("short-region", MFD_CLOEXEC);
         ASSERT_GE(fd, 0);
         ASSERT_EQ(::ftruncate(fd, 4096), 0);
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 32), &t, &fd, 1);
         ::close(fd);
     }},
    {"AddMemRegFdShorterThanRegion",
     [](vu::Connection& c, Frontend& f) {
         ASSERT_TRUE(f.handshake());
         f.client().set_reply_ack(false);
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         int fd = ::memfd_create("short-region", MFD_CLOEXEC);
         ASSERT_GE(fd, 0);
         ASSERT_EQ(::ftruncate(fd, 4096), 0);
         (void)c.send(hdr(vu::Request::kAddMemReg, sizeof(r)), &r, &fd, 1);
         ::close(fd);
     }},
    {"MemTableOverlappingRegions",
     [](vu::Connection& c, Frontend& f) {
         vu::MemoryTable t;
         t.num_regions = 2;
         t.regions[0] = f.ram().regions()[0];
         t.regions[1] = f.ram().regions()[0];
         t.regions[1].userspace_addr += 1ull << 40;
         int fds[2] = {f.ram().fd(), f.ram().fd()};
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 64), &t, fds, 2);
     }},
    {"AddMemRegWithoutFd",
     [](vu::Connection& c, Frontend& f) {
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         (void)c.send(hdr(vu::Request::kAddMemReg, sizeof(r)), &r);
     }},
    {"RemMemRegNotMapped",
     [](vu::Connection& c, Frontend& f) {
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         (void)c.send(hdr(vu::Request::kRemMemReg, sizeof(r)), &r);
     }},
    {"PayloadSizeHuge",
     [](vu::Connection& c, Frontend&) {
         vu::Header h = hdr(vu::Request::kSetFeatures, 0xffffffffu);
         ::send(c.fd(), &h, sizeof(h), MSG_NOSIGNAL);
     }},
    {"TooManyFds",
     [](vu::Connection& c, Frontend&) {
         int fds[12];
         for (int& fd : fds)
             fd = an_eventfd();
         vu::Header h = hdr(vu::Request::kGetFeatures, 0);
         // Connection::send refuses more than 8 fds, so build this one by hand.
         iovec iov{&h, sizeof(h)};
         alignas(cmsghdr) char control[CMSG_SPACE(sizeof(fds))];
         msghdr mh{};
         mh.msg_iov = &iov;
         mh.msg_iovlen = 1;
         mh.msg_control = control;
         mh.msg_controllen = sizeof(control);
         cmsghdr* cm = CMSG_FIRSTHDR(&mh);
         cm->cmsg_level = SOL_SOCKET;
         cm->cmsg_type = SCM_RIGHTS;
         cm->cmsg_len = CMSG_LEN(sizeof(fds));
         memcpy(CMSG_DATA(cm), fds, sizeof(fds));
         ::sendmsg(c.fd(), &mh, MSG_NOSIGNAL);
         for (int fd : fds)
             ::close(fd);
     }},
    {"RingAddressOutsideMemory",
     [](vu::Connection& c, Frontend& f) {
         ASSERT_TRUE(f.handshake());
         ASSERT_TRUE(f.set_mem_table());
         f.client().set_reply_ack(false);
         vu::VringState n{1, 128};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(n)), &n);
         vu::VringAddr a;
         a.index = 1;
         a.desc_user_addr = f.ram().regions()[0].userspace_addr + f.ram().size() - 64;
         a.avail_user_addr = f.queue(1).avail_uva();
         a.used_user_addr = f.queue(1).used_uva();
         (void)c.send(hdr(vu::Request::kSetVringAddr, sizeof(a)), &a);
         uint64_t idx = 1;
         int fd = f.queue(1).kick_fd();
         (void)c.send(hdr(vu::Request::kSetVringKick, 8), &idx, &fd, 1);
     }},
    {"KickNotAnEventfd",
     [](vu::Connection& c, Frontend& f) {
         // A regular file as the kick fd would read 0 bytes forever: a 100% CPU spin.
         ASSERT_TRUE(f.handshake());
         ASSERT_TRUE(f.set_mem_table());
         f.client().set_reply_ack(false);
         vu::VringState n{1, 128};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(n)), &n);
         vu::VringAddr a;
         a.index = 1;
         a.desc_user_addr = f.queue(1).desc_uva();
         a.avail_user_addr = f.queue(1).avail_uva();
         a.used_user_addr = f.queue(1).used_uva();
         (void)c.send(hdr(vu::Request::kSetVringAddr, sizeof(a)), &a);
         uint64_t idx = 1;
         int fd = ::memfd_create("not-an-eventfd", MFD_CLOEXEC);
         ASSERT_GE(fd, 0);
         (void)c.send(hdr(vu::Request::kSetVringKick, 8), &idx, &fd, 1);
         ::close(fd);
     }},
    {"ConfigWithoutTag",
     [](vu::Connection& c, Frontend&) {
         vu::ConfigHeader h{0, 8, 0};
         uint8_t buf[sizeof(h) + 8] = {};
         memcpy(buf, &h, sizeof(h));
         (void)c.send(hdr(vu::Request::kGetConfig, sizeof(buf)), buf);
     }},
    {"TruncatedMessage",
     [](vu::Connection& c, Frontend&) {
         vu::Header h = hdr(vu::Request::kSetFeatures, 8);
         uint32_t half = 0;
         ::send(c.fd(), &h, sizeof(h), MSG_NOSIGNAL);
         ::send(c.fd(), &half, sizeof(half), MSG_NOSIGNAL);
         ::shutdown(c.fd(), SHUT_WR);
     }},
};

class HostileMessage : public DaemonFixture, public ::testing::WithParamInterface<RawCase> {};

TEST_P(HostileMessage, ClosesConnectionWithoutCrashing) {
    FrontendOptions o;
    o.num_queues = 2;
    o.memory_bytes = 8 << 20;
    auto f = Frontend::connect(socket_, o);
    ASSERT_TRUE(f) << strerror(f.error());
    GetParam().send((*f)->client().connection(), **f);
    expect_refused_and_clean_exit((*f)->client());
}

INSTANTIATE_TEST_SUITE_P(Malformed, HostileMessage, ::testing::ValuesIn(kRawCases),
                         [](const auto& info) { return std::string(info.param.name); });

// After a hostile session, a new daemon instance serves normally.
TEST_F(DaemonFixture, NewInstanceServesAfterHostileSession) {
    {
        auto c = vfs::frontend::VhostUserClient::connect(socket_);
        ASSERT_TRUE(c);
        (void)(*c)->connection().send(vu::Header{77, vu::kVersion, 0}, nullptr);
        expect_refused_and_clean_exit(**c);
    }
    DaemonProcess second;
    const std::string s2 = dir_ + "/second.sock";
    ASSERT_TRUE(
        second.spawn(backend_argv(BackendKind::kOurs, s2, dir_ + "/share"), dir_ + "/second.log"));
    ASSERT_TRUE(second.wait_for_socket(s2));
    auto f = Frontend::connect(s2, FrontendOptions{});
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->setup()) << second.log();
    ASSERT_TRUE((*f)->fuse_init(1)) << second.log();
}

// ---- hostile descriptor chains ----------------------------------------------------------

struct ChainCase {
    const char* name;
    std::function<void(Frontend&)> inject;  // on queue 1, which must then break
};

constexpr uint64_t kMem = 16 << 20;

vring_desc desc(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    vring_desc d;
    d.addr = addr;
    d.len = len;
    d.flags = flags;
    d.next = next;
    return d;
}

const ChainCase kChainCases[] = {
    {"BufferOutsideMemory",
     [](Frontend& f) {
         vring_desc d[] = {desc(kMem + 4096, 64, 0, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"BufferWrapsAddressSpace",
     [](Frontend& f) {
         vring_desc d[] = {desc(~0ull - 15, 64, 0, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"BufferStraddlesRegions",
     [](Frontend& f) {
         // Two regions of kMem/2 each: a buffer across the boundary is in neither.
         vring_desc d[] = {desc(kMem / 2 - 32, 64, 0, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"DescriptorLoop",
     [](Frontend& f) {
         auto buf = f.ram().allocate(4096);
         ASSERT_TRUE(buf);
         vring_desc d[] = {desc(buf->gpa, 64, VRING_DESC_F_NEXT, 1),
                           desc(buf->gpa, 64, VRING_DESC_F_NEXT, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 2, 0));
     }},
    {"NextOutOfRange",
     [](Frontend& f) {
         auto buf = f.ram().allocate(4096);
         ASSERT_TRUE(buf);
         vring_desc d[] = {desc(buf->gpa, 64, VRING_DESC_F_NEXT, 500)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"HeadOutOfRange",
     [](Frontend& f) {
         vring_desc d[] = {desc(0, 0, 0, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 200));
     }},
    {"IndirectTableBadLength",
     [](Frontend& f) {
         auto buf = f.ram().allocate(4096);
         ASSERT_TRUE(buf);
         vring_desc d[] = {desc(buf->gpa, 17, VRING_DESC_F_INDIRECT, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"IndirectTableOutsideMemory",
     [](Frontend& f) {
         vring_desc d[] = {desc(kMem, 32, VRING_DESC_F_INDIRECT, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 1, 0));
     }},
    {"ReadableAfterWritable",
     [](Frontend& f) {
         auto buf = f.ram().allocate(4096);
         ASSERT_TRUE(buf);
         vring_desc d[] = {desc(buf->gpa, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1),
                           desc(buf->gpa + 64, 64, 0, 0)};
         ASSERT_TRUE(f.queue(1).inject_raw(d, 2, 0));
     }},
    {"AvailIndexRunsAhead", [](Frontend& f) { ASSERT_TRUE(f.queue(1).inject_avail_idx(1000)); }},
};

class HostileChain : public DaemonFixture, public ::testing::WithParamInterface<ChainCase> {};

TEST_P(HostileChain, BreaksOnlyItsQueue) {
    FrontendOptions o;
    o.num_queues = 3;
    o.memory_bytes = kMem;
    o.memory_regions = 2;
    auto fr = Frontend::connect(socket_, o);
    ASSERT_TRUE(fr);
    Frontend& f = **fr;
    ASSERT_TRUE(f.setup()) << daemon_.log();
    ASSERT_TRUE(f.fuse_init(2)) << daemon_.log();

    GetParam().inject(f);
    EXPECT_TRUE(f.queue(1).wait_error(5000)) << "queue not marked broken\n" << daemon_.log();
    EXPECT_NE(daemon_.log().find("marked broken"), std::string::npos) << daemon_.log();

    // The daemon is alive and the other request queue still serves.
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
    struct {
        fuse_in_header h;
        fuse_getattr_in in;
    } __attribute__((packed)) req{};
    req.h.len = sizeof(req);
    req.h.opcode = FUSE_GETATTR;
    req.h.unique = f.next_unique();
    req.h.nodeid = FUSE_ROOT_ID;
    auto r = f.request(2, std::span(reinterpret_cast<const uint8_t*>(&req), sizeof(req)), 256);
    ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
    ASSERT_GE(r->size(), sizeof(fuse_out_header));

    // A guest reset revives the broken queue.
    ASSERT_TRUE(f.stop_queue(1)) << daemon_.log();
    ASSERT_TRUE(f.reset_queue(1));
    ASSERT_TRUE(f.start_queue(1)) << daemon_.log();
    req.h.unique = f.next_unique();
    r = f.request(1, std::span(reinterpret_cast<const uint8_t*>(&req), sizeof(req)), 256);
    ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
}

INSTANTIATE_TEST_SUITE_P(Hostile, HostileChain, ::testing::ValuesIn(kChainCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vfs::test
