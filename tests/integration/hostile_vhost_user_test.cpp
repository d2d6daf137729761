// Hostile front-ends against virtiofsd-cxx. A message the daemon refuses is answered
// with a REPLY_ACK failure (the errno) when the front-end asked for an ack, and the
// connection serves on: the device then still completes set-up and answers FUSE. A
// malformed message (framing, version, size or fd count), or a refusal the front-end
// cannot be told of, closes the connection (the daemon then exits 1, never by a signal).
// Hostile descriptor chains break only their queue (the err eventfd fires, the queue
// publishes nothing) while the other queues keep serving. Each case gets a fresh daemon.
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <ostream>

#include "backends.h"
#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"
#include "vfs/wire/virtqueue_layout.h"

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
    }

    std::string dir_, socket_;
    DaemonProcess daemon_;
};

// ---- malformed messages: the connection closes, even when an ack was asked for --------

struct RawCase {
    const char* name;
    // Sends the hostile message(s) on a connection whose handshake negotiated REPLY_ACK.
    std::function<void(vu::Connection&, Frontend&)> send;
};

// NEED_REPLY on every hostile message: the daemon must close, not just answer.
vu::Header hdr(vu::Request r, uint32_t size, uint32_t flags = vu::kVersion | vu::kFlagNeedReply) {
    return vu::Header{static_cast<uint32_t>(r), flags, size};
}

// gtest prints a case by its name, not its bytes.
void PrintTo(const RawCase& c, std::ostream* os) {
    *os << c.name;
}

int an_eventfd() {
    return ::dup(STDERR_FILENO);  // any fd will do where the fd count is what is wrong
}

const RawCase kMalformedCases[] = {
    {"WrongVersion",
     [](vu::Connection& c, Frontend&) {
         (void)c.send(hdr(vu::Request::kGetFeatures, 0, vu::kFlagNeedReply), nullptr);
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
    {"SetLogBaseShortPayload",
     [](vu::Connection& c, Frontend& f) {
         uint64_t v = 4096;
         int fd = f.ram().fd();
         (void)c.send(hdr(vu::Request::kSetLogBase, 8), &v, &fd, 1);
     }},
    {"SetLogFdWithoutFd",
     [](vu::Connection& c, Frontend&) { (void)c.send(hdr(vu::Request::kSetLogFd, 0), nullptr); }},
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
    {"AddMemRegWithoutFd",
     [](vu::Connection& c, Frontend& f) {
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         (void)c.send(hdr(vu::Request::kAddMemReg, sizeof(r)), &r);
     }},
    {"GetVringBaseOutOfRange",
     [](vu::Connection& c, Frontend&) {
         // Its reply is a vring state: no ack can stand in for it, so a refusal closes.
         vu::VringState s{1000, 0};
         (void)c.send(hdr(vu::Request::kGetVringBase, sizeof(s)), &s);
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
    {"TruncatedMessage",
     [](vu::Connection& c, Frontend&) {
         vu::Header h = hdr(vu::Request::kSetFeatures, 8);
         uint32_t half = 0;
         ::send(c.fd(), &h, sizeof(h), MSG_NOSIGNAL);
         ::send(c.fd(), &half, sizeof(half), MSG_NOSIGNAL);
         ::shutdown(c.fd(), SHUT_WR);
     }},
};

class MalformedMessage : public DaemonFixture, public ::testing::WithParamInterface<RawCase> {};

TEST_P(MalformedMessage, ClosesConnectionWithoutCrashing) {
    FrontendOptions o;
    o.num_queues = 2;
    o.memory_bytes = 8 << 20;
    auto f = Frontend::connect(socket_, o);
    ASSERT_TRUE(f) << strerror(f.error());
    ASSERT_TRUE((*f)->handshake()) << daemon_.log();
    ASSERT_TRUE((*f)->negotiated().protocol_features & vu::protocol_feature::kReplyAck);
    GetParam().send((*f)->client().connection(), **f);
    expect_refused_and_clean_exit((*f)->client());
}

INSTANTIATE_TEST_SUITE_P(Malformed, MalformedMessage, ::testing::ValuesIn(kMalformedCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- refused messages: a failure ack, and the device serves on ---------------------------

// The reply a refused message gets: a REPLY_ACK carrying this errno (0: any non-zero), or
// for GET_CONFIG an empty reply.
constexpr uint64_t kAnyFailure = 0;
constexpr uint64_t kEmptyReply = ~0ull;

struct RefusedCase {
    const char* name;
    // Sends the hostile message last, with NEED_REPLY; may prepare with valid requests.
    std::function<void(vu::Connection&, Frontend&)> send;
    uint64_t want;
    // Checks the state the refusal left, before set-up completes (may be empty).
    std::function<void(Frontend&)> after;
};

void PrintTo(const RefusedCase& c, std::ostream* os) {
    *os << c.name;
}

// A ring described with the given descriptor table address, then kicked with kick_fd.
void start_ring_one(vu::Connection& c, Frontend& f, uint64_t desc_uva, int kick_fd) {
    ASSERT_TRUE(f.set_mem_table());
    ASSERT_TRUE(f.client().send_obj(vu::Request::kSetVringNum, vu::VringState{1, 128}));
    vu::VringAddr a;
    a.index = 1;
    a.desc_user_addr = desc_uva;
    a.avail_user_addr = f.queue(1).avail_uva();
    a.used_user_addr = f.queue(1).used_uva();
    ASSERT_TRUE(f.client().send_obj(vu::Request::kSetVringAddr, a));
    uint64_t idx = 1;
    (void)c.send(hdr(vu::Request::kSetVringKick, 8), &idx, &kick_fd, 1);
}

// A ring whose start was refused is stopped: GET_VRING_BASE answers the base it had.
void expect_ring_one_stopped(Frontend& f) {
    auto st = f.client().get_vring_base(1);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->num, 0u);
}

const RefusedCase kRefusedCases[] = {
    {"UnknownRequest",
     [](vu::Connection& c, Frontend&) {
         (void)c.send(hdr(static_cast<vu::Request>(99), 0), nullptr);
     },
     ENOSYS,
     {}},
    {"NotOfferedRequestSendRarp",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 0;
         (void)c.send(hdr(vu::Request::kSendRarp, 8), &v);
     },
     ENOSYS,
     {}},
    {"SetLogBaseWithoutLogShmfd",  // the frontend did not ack LOG_SHMFD
     [](vu::Connection& c, Frontend& f) {
         vu::LogParams p{4096, 0};
         int fd = f.ram().fd();
         (void)c.send(hdr(vu::Request::kSetLogBase, sizeof(p)), &p, &fd, 1);
     },
     EINVAL,
     {}},
    {"SetFeaturesNeverOffered",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = 1ull << 63;
         (void)c.send(hdr(vu::Request::kSetFeatures, 8), &v);
     },
     EINVAL,
     {}},
    {"SetProtocolFeaturesNeverOffered",
     [](vu::Connection& c, Frontend&) {
         uint64_t v = vu::protocol_feature::kConfig;  // no --tag: not offered
         (void)c.send(hdr(vu::Request::kSetProtocolFeatures, 8), &v);
     },
     EINVAL,
     {}},
    {"QueueIndexOutOfRange",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1000, 128};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(s)), &s);
     },
     EINVAL,
     {}},
    {"QueueSizeNotPowerOfTwo",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1, 100};
         (void)c.send(hdr(vu::Request::kSetVringNum, sizeof(s)), &s);
     },
     EINVAL,
     {}},
    {"VringEnableBadState",
     [](vu::Connection& c, Frontend&) {
         vu::VringState s{1, 2};
         (void)c.send(hdr(vu::Request::kSetVringEnable, sizeof(s)), &s);
     },
     EINVAL,
     {}},
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
     },
     kAnyFailure,
     {}},
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
     },
     EINVAL,
     {}},
    {"AddMemRegFdShorterThanRegion",
     [](vu::Connection& c, Frontend& f) {
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         int fd = ::memfd_create("short-region", MFD_CLOEXEC);
         ASSERT_GE(fd, 0);
         ASSERT_EQ(::ftruncate(fd, 4096), 0);
         (void)c.send(hdr(vu::Request::kAddMemReg, sizeof(r)), &r, &fd, 1);
         ::close(fd);
     },
     EINVAL,
     {}},
    {"MemTableOverlappingRegions",
     [](vu::Connection& c, Frontend& f) {
         vu::MemoryTable t;
         t.num_regions = 2;
         t.regions[0] = f.ram().regions()[0];
         t.regions[1] = f.ram().regions()[0];
         t.regions[1].userspace_addr += 1ull << 40;
         int fds[2] = {f.ram().fd(), f.ram().fd()};
         (void)c.send(hdr(vu::Request::kSetMemTable, 8 + 64), &t, fds, 2);
     },
     EINVAL,
     {}},
    {"RemMemRegNotMapped",
     [](vu::Connection& c, Frontend& f) {
         vu::SingleMemoryRegion r;
         r.region = f.ram().regions()[0];
         (void)c.send(hdr(vu::Request::kRemMemReg, sizeof(r)), &r);
     },
     ENOENT,
     {}},
    {"RingAddressOutsideMemory",
     [](vu::Connection& c, Frontend& f) {
         start_ring_one(c, f, f.ram().regions()[0].userspace_addr + f.ram().size() - 64,
                        f.queue(1).kick_fd());
     },
     EFAULT, expect_ring_one_stopped},
    {"KickNotAnEventfd",
     [](vu::Connection& c, Frontend& f) {
         // A regular file as the kick fd would read 0 bytes forever: a 100% CPU spin.
         int fd = ::memfd_create("not-an-eventfd", MFD_CLOEXEC);
         ASSERT_GE(fd, 0);
         start_ring_one(c, f, f.queue(1).desc_uva(), fd);
         ::close(fd);
     },
     EINVAL, expect_ring_one_stopped},
    {"CallNotAnEventfd",
     [](vu::Connection& c, Frontend&) {
         // A pipe as the call fd: once its buffer is full, a worker's signal would block.
         int p[2];
         ASSERT_EQ(::pipe(p), 0);
         uint64_t v = 1;
         (void)c.send(hdr(vu::Request::kSetVringCall, 8), &v, &p[1], 1);
         ::close(p[0]);
         ::close(p[1]);
     },
     EINVAL,
     {}},
    {"ErrNotAnEventfd",
     [](vu::Connection& c, Frontend&) {
         int p[2];
         ASSERT_EQ(::pipe(p), 0);
         uint64_t v = 1;
         (void)c.send(hdr(vu::Request::kSetVringErr, 8), &v, &p[1], 1);
         ::close(p[0]);
         ::close(p[1]);
     },
     EINVAL,
     {}},
    {"ConfigWithoutTag",
     [](vu::Connection& c, Frontend&) {
         vu::ConfigHeader h{0, 8, 0};
         uint8_t buf[sizeof(h) + 8] = {};
         memcpy(buf, &h, sizeof(h));
         (void)c.send(hdr(vu::Request::kGetConfig, sizeof(buf)), buf);
     },
     kEmptyReply,
     {}},
};

class RefusedMessage : public DaemonFixture, public ::testing::WithParamInterface<RefusedCase> {};

TEST_P(RefusedMessage, AnswersFailureAndServesOn) {
    FrontendOptions o;
    o.num_queues = 2;
    o.memory_bytes = 8 << 20;
    auto fr = Frontend::connect(socket_, o);
    ASSERT_TRUE(fr) << strerror(fr.error());
    Frontend& f = **fr;
    ASSERT_TRUE(f.handshake()) << daemon_.log();
    ASSERT_TRUE(f.negotiated().protocol_features & vu::protocol_feature::kReplyAck);
    const RefusedCase& rc = GetParam();
    vu::Connection& c = f.client().connection();
    rc.send(c, f);

    auto reply = std::make_unique<vu::Message>();
    auto got = c.receive(reply.get());
    ASSERT_TRUE(got && *got) << "no reply to the refused message\n" << daemon_.log();
    EXPECT_TRUE(reply->hdr.flags & vu::kFlagReply);
    if (rc.want == kEmptyReply) {
        EXPECT_EQ(reply->hdr.size, 0u);
    } else {
        ASSERT_EQ(reply->hdr.size, sizeof(uint64_t));
        const auto ack = vu::payload_as<uint64_t>(reply->payload);
        EXPECT_NE(ack, 0u) << "a refused message was acked as done";
        if (rc.want != kAnyFailure) {
            EXPECT_EQ(ack, rc.want) << strerror(static_cast<int>(ack));
        }
    }
    if (rc.after) rc.after(f);

    // The connection serves on, and the refusal changed nothing the set-up relies on.
    ASSERT_TRUE(f.set_mem_table()) << daemon_.log();
    for (uint32_t q = 0; q < f.num_queues(); ++q) {
        ASSERT_TRUE(f.reset_queue(q));
        ASSERT_TRUE(f.start_queue(q)) << daemon_.log();
    }
    ASSERT_TRUE(f.fuse_init(1)) << daemon_.log();
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

INSTANTIATE_TEST_SUITE_P(Refused, RefusedMessage, ::testing::ValuesIn(kRefusedCases),
                         [](const auto& info) { return std::string(info.param.name); });

// A refusal nobody asked to hear of cannot be answered: the connection closes.
TEST_F(DaemonFixture, RefusalWithoutAckRequestCloses) {
    auto f = Frontend::connect(socket_, FrontendOptions{});
    ASSERT_TRUE(f);
    ASSERT_TRUE((*f)->handshake()) << daemon_.log();
    vu::VringState s{1000, 128};
    (void)(*f)->client().connection().send(hdr(vu::Request::kSetVringNum, sizeof(s), vu::kVersion),
                                           &s);
    expect_refused_and_clean_exit((*f)->client());
}

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

void PrintTo(const ChainCase& c, std::ostream* os) {
    *os << c.name;
}

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
    EXPECT_TRUE(f.queue(1).wait_error(5000)) << "err eventfd not signalled\n" << daemon_.log();
    // The broken queue answers nothing: the hostile chain gets no used entry.
    const auto* used = reinterpret_cast<const vring_used*>(f.queue(1).used_uva());
    EXPECT_EQ(vfs::wire::load_acquire(&used->idx), 0u);

    // The daemon is alive and the other request queue still serves.
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
    auto r = f.request(2, vfs::slowfs::getattr_request(f.next_unique(), FUSE_ROOT_ID), 256);
    ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
    ASSERT_GE(r->size(), sizeof(fuse_out_header));

    // A guest reset revives the broken queue.
    ASSERT_TRUE(f.stop_queue(1)) << daemon_.log();
    ASSERT_TRUE(f.reset_queue(1));
    ASSERT_TRUE(f.start_queue(1)) << daemon_.log();
    r = f.request(1, vfs::slowfs::getattr_request(f.next_unique(), FUSE_ROOT_ID), 256);
    ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
}

INSTANTIATE_TEST_SUITE_P(Hostile, HostileChain, ::testing::ValuesIn(kChainCases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vfs::test

namespace vfs::test {
namespace {

// A header that announces a payload which never comes.
void send_half_a_message(vu::Connection& c) {
    vu::Header h = hdr(vu::Request::kSetFeatures, 8);
    ASSERT_EQ(::send(c.fd(), &h, sizeof(h), MSG_NOSIGNAL), static_cast<ssize_t>(sizeof(h)));
}

// Half a message held the connection thread in recv for good: it must time out instead.
TEST_F(DaemonFixture, HalfAMessageTimesOutAndCloses) {
    auto c = vfs::frontend::VhostUserClient::connect(socket_);
    ASSERT_TRUE(c);
    send_half_a_message((*c)->connection());
    expect_refused_and_clean_exit(**c);
}

// ... and SIGTERM, which that thread serves, must end the daemon at once meanwhile (well
// before the message's own timeout).
TEST_F(DaemonFixture, SigtermEndsADaemonWaitingForHalfAMessage) {
    auto c = vfs::frontend::VhostUserClient::connect(socket_);
    ASSERT_TRUE(c);
    send_half_a_message((*c)->connection());
    ::usleep(200 * 1000);  // the daemon is inside the message now
    auto st = daemon_.terminate(1000);
    ASSERT_TRUE(st.has_value()) << "SIGTERM did not end the daemon\n" << daemon_.log();
    ASSERT_TRUE(WIFEXITED(*st)) << daemon_.log();
    EXPECT_EQ(WEXITSTATUS(*st), 0) << daemon_.log();
}

// A front-end that never reads its replies fills the socket; the daemon's reply then waits
// in sendmsg. SIGTERM must still end it (a bounded send lets the thread get back to it).
TEST_F(DaemonFixture, SigtermEndsADaemonWhoseRepliesAreNeverRead) {
    auto c = vfs::frontend::VhostUserClient::connect(socket_);
    ASSERT_TRUE(c);
    vu::Connection& conn = (*c)->connection();
    const int buf = 4096;
    ASSERT_EQ(::setsockopt(conn.fd(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)), 0);
    vu::Header h = hdr(vu::Request::kGetFeatures, 0, vu::kVersion);
    // Requests for half a second, never reading a reply: the daemon's replies fill its
    // socket buffer, then our requests fill ours.
    for (int i = 0; i < 500; ++i) {
        while (::send(conn.fd(), &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT) > 0) {
        }
        ::usleep(1000);
    }
    auto st = daemon_.terminate(7000);
    ASSERT_TRUE(st.has_value()) << "SIGTERM did not end the daemon\n" << daemon_.log();
    ASSERT_TRUE(WIFEXITED(*st)) << daemon_.log();
}

}  // namespace
}  // namespace vfs::test
