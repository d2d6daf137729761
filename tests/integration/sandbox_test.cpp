// The daemon as users start it, with no confinement flags: --sandbox=namespace,
// --seccomp=kill and the reduced capability set, checked on the running process
// (/proc/<pid>/status, mountinfo, root) and on what the guest can still do through it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using namespace vfs::slowfs;
using vfs::frontend::FrontendOptions;

// capabilities(7) numbers of the set virtiofsd keeps.
constexpr uint64_t kCapBit(int n) {
    return uint64_t{1} << n;
}
constexpr uint64_t kDefaultCaps = kCapBit(0) /*CHOWN*/ | kCapBit(1) /*DAC_OVERRIDE*/ |
                                  kCapBit(3) /*FOWNER*/ | kCapBit(4) /*FSETID*/ |
                                  kCapBit(6) /*SETGID*/ | kCapBit(7) /*SETUID*/ |
                                  kCapBit(27) /*MKNOD*/ | kCapBit(31) /*SETFCAP*/;
constexpr uint64_t kDacReadSearch = kCapBit(2);
constexpr uint64_t kMknod = kCapBit(27);

// "Field:\tvalue" of /proc/<pid>/status.
std::string status_field(pid_t pid, const std::string& field) {
    std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/status"));
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(field + ":", 0) == 0) {
            auto v = line.substr(field.size() + 1);
            v.erase(0, v.find_first_not_of(" \t"));
            return v;
        }
    }
    return "";
}

uint64_t cap_eff(pid_t pid) {
    return std::stoull(status_field(pid, "CapEff"), nullptr, 16);
}

struct MountEntry {
    std::string root, mount_point;
};

std::vector<MountEntry> mounts_of(pid_t pid) {
    std::vector<MountEntry> out;
    std::istringstream lines(read_text("/proc/" + std::to_string(pid) + "/mountinfo"));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp;
        f >> id >> parent >> dev >> root >> mp;
        out.push_back({root, mp});
    }
    return out;
}

class Sandbox : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-sandbox");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        socket_ = dir_ + "/vhost.sock";
        std::filesystem::create_directory(share_);
        std::ofstream(share_ + "/file.txt") << "twelve bytes";
        char real[PATH_MAX];
        ASSERT_NE(::realpath(share_.c_str(), real), nullptr);
        real_share_ = real;
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        std::filesystem::remove_all(dir_);
    }

    void start(std::vector<std::string> extra = {}) {
        std::vector<std::string> argv = {VFS_DAEMON_PATH, "--socket-path=" + socket_,
                                         "--shared-dir=" + share_, "--num-queues=2"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        ASSERT_TRUE(daemon_.spawn(argv, dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
    }

    // The process that serves: in the namespace sandbox, the child of the one we started
    // (pid 1 of its own pid namespace).
    pid_t server_pid() { return daemon_.sandboxed_child(); }

    void connect() {
        FrontendOptions o;
        o.num_queues = 2;
        auto f = Frontend::connect(socket_, o);
        ASSERT_TRUE(f) << strerror(f.error());
        fe_ = std::move(*f);
        ASSERT_TRUE(fe_->setup()) << daemon_.log();
        ASSERT_TRUE(fe_->fuse_init(1)) << daemon_.log();
    }

    // One FUSE request on queue 1: header, body, then a NUL-terminated name if given.
    template <typename Body>
    std::vector<uint8_t> call(uint32_t opcode, uint64_t nodeid, const Body& body,
                              const std::string& name = "", uint32_t reply_capacity = 4096) {
        return call_raw(opcode, nodeid, &body, sizeof(Body), name, reply_capacity);
    }
    // LOOKUP: the name is the whole body.
    std::vector<uint8_t> lookup(const std::string& name) {
        return call_raw(FUSE_LOOKUP, FUSE_ROOT_ID, nullptr, 0, name, 4096);
    }
    std::vector<uint8_t> call_raw(uint32_t opcode, uint64_t nodeid, const void* body,
                                  size_t body_size, const std::string& name,
                                  uint32_t reply_capacity) {
        const std::string tail = name.empty() ? name : name + '\0';
        auto t =
            fe_->submit(1, raw_request(opcode, fe_->next_unique(), nodeid, body, body_size, tail),
                        reply_capacity);
        EXPECT_TRUE(t);
        if (!t) return {};
        auto r = fe_->wait(*t);
        EXPECT_TRUE(r);
        return r ? *r : std::vector<uint8_t>{};
    }
    static int32_t error_of(const std::vector<uint8_t>& reply) { return reply_header(reply).error; }

    // LOOKUP, OPEN and READ of file.txt: the read needs a reopen through /proc/self/fd
    // (or open_by_handle_at with file handles), which the sandbox must keep working.
    void expect_file_readable() {
        auto look = lookup("file.txt");
        ASSERT_EQ(error_of(look), 0) << daemon_.log();
        fuse_entry_out entry{};
        memcpy(&entry, look.data() + sizeof(fuse_out_header), sizeof(entry));
        fuse_open_in oi{};
        oi.flags = O_RDONLY;
        auto opened = call(FUSE_OPEN, entry.nodeid, oi);
        ASSERT_EQ(error_of(opened), 0) << daemon_.log();
        fuse_open_out oo{};
        memcpy(&oo, opened.data() + sizeof(fuse_out_header), sizeof(oo));
        fuse_read_in ri{};
        ri.fh = oo.fh;
        ri.size = 64;
        auto data = call(FUSE_READ, entry.nodeid, ri);
        ASSERT_EQ(error_of(data), 0) << daemon_.log();
        EXPECT_EQ(std::string(data.begin() + sizeof(fuse_out_header), data.end()), "twelve bytes");
    }

    std::string dir_, share_, real_share_, socket_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_F(Sandbox, DefaultsConfineTheServingProcess) {
    start();
    const pid_t server = server_pid();
    ASSERT_GT(server, 0) << "no child: the namespace sandbox did not fork\n" << daemon_.log();
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    EXPECT_EQ(status_field(server, "Seccomp"), "2");
    EXPECT_EQ(status_field(server, "NoNewPrivs"), "1");
    EXPECT_EQ(cap_eff(server), kDefaultCaps) << status_field(server, "CapEff");
    EXPECT_EQ(std::stoull(status_field(server, "CapBnd"), nullptr, 16), kDefaultCaps);

    // The share is the root, and nothing of the host's mount tree is left.
    const auto mounts = mounts_of(server);
    ASSERT_FALSE(mounts.empty());
    bool share_is_root = false;
    for (const auto& m : mounts) {
        EXPECT_NE(m.mount_point, "/proc") << "the host's /proc is visible";
        if (m.mount_point == "/") {
            share_is_root =
                real_share_.size() >= m.root.size() &&
                real_share_.compare(real_share_.size() - m.root.size(), m.root.size(), m.root) == 0;
        }
    }
    EXPECT_TRUE(share_is_root) << read_text("/proc/" + std::to_string(server) + "/mountinfo");
    EXPECT_LT(mounts.size(), mounts_of(::getpid()).size());

    // One front-end only: the parent, outside, removed the socket file at accept.
    for (int i = 0; i < 100 && std::filesystem::exists(socket_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_FALSE(std::filesystem::exists(socket_));
    expect_file_readable();
    // The filter let every call of that through: still the same process, still serving.
    EXPECT_FALSE(daemon_.exited()) << daemon_.log();
}

// --daemonize detaches before the sandbox, and logs to syslog from then on: the filter
// must allow what syslog(3) does (with no /dev/log, it retries socket+connect per line).
TEST_F(Sandbox, DaemonizedServesUnderTheDefaults) {
    ASSERT_TRUE(daemon_.spawn({VFS_DAEMON_PATH, "--socket-path=" + socket_,
                               "--shared-dir=" + share_, "--num-queues=2", "--daemonize"},
                              dir_ + "/daemon.log"));
    auto st = daemon_.wait_exit(5000);
    ASSERT_TRUE(st.has_value() && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << daemon_.log();
    for (int i = 0; i < 500 && !std::filesystem::is_socket(socket_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(std::filesystem::is_socket(socket_)) << daemon_.log();
    // The daemon ends by itself once its front-end goes (TearDown).
    connect();
    expect_file_readable();
}

// libvirt's form: the listening socket comes as --fd. One front-end only: once it is
// served, nobody else may connect, so neither the sandboxed child nor its parent outside
// may still hold the listening socket.
TEST_F(Sandbox, AnInheritedListenerServesOneFrontEnd) {
    const int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);  // inherited: no CLOEXEC
    ASSERT_GE(listener, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_.c_str());
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(listener, 4), 0);
    ASSERT_TRUE(daemon_.spawn({VFS_DAEMON_PATH, "--fd=" + std::to_string(listener), "-o",
                               "source=" + share_, "--num-queues=2"},
                              dir_ + "/daemon.log"));
    ::close(listener);
    connect();
    expect_file_readable();
    const int second = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(second, 0);
    EXPECT_NE(::connect(second, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << "a second front-end could connect";
    EXPECT_EQ(errno, ECONNREFUSED);
    ::close(second);
}

TEST_F(Sandbox, SigtermToTheParentEndsBothWithStatusZero) {
    start();
    const pid_t server = server_pid();
    ASSERT_GT(server, 0);
    connect();
    auto st = daemon_.terminate();
    ASSERT_TRUE(st.has_value()) << daemon_.log();
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << daemon_.log();
    EXPECT_NE(::kill(server, 0), 0) << "the sandboxed child outlived its parent";
}

TEST_F(Sandbox, FileHandlesKeepDacReadSearchAndStillOpen) {
    start({"--inode-file-handles=mandatory"});
    const pid_t server = server_pid();
    ASSERT_GT(server, 0) << daemon_.log();
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    EXPECT_EQ(cap_eff(server), kDefaultCaps | kDacReadSearch);
    expect_file_readable();
}

TEST_F(Sandbox, ModcapsMinusMknodRefusesADeviceNode) {
    start({"--modcaps=-mknod"});
    const pid_t server = server_pid();
    ASSERT_GT(server, 0) << daemon_.log();
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    EXPECT_EQ(cap_eff(server), kDefaultCaps & ~kMknod);
    fuse_mknod_in mk{};
    mk.mode = S_IFCHR | 0600;
    mk.rdev = static_cast<uint32_t>(makedev(1, 3));
    EXPECT_EQ(error_of(call(FUSE_MKNOD, FUSE_ROOT_ID, mk, "null")), -EPERM);
    EXPECT_FALSE(std::filesystem::exists(share_ + "/null"));
    // A FIFO needs no capability: the request path itself works.
    mk.mode = S_IFIFO | 0600;
    mk.rdev = 0;
    EXPECT_EQ(error_of(call(FUSE_MKNOD, FUSE_ROOT_ID, mk, "fifo")), 0) << daemon_.log();
}

TEST_F(Sandbox, ModcapsAddsACapability) {
    start({"--modcaps=+sys_admin:-chown"});
    const pid_t server = server_pid();
    ASSERT_GT(server, 0) << daemon_.log();
    connect();
    EXPECT_EQ(cap_eff(server), (kDefaultCaps | kCapBit(21)) & ~kCapBit(0));
}

TEST_F(Sandbox, AnUnknownCapabilityIsNamedAtStartUp) {
    ASSERT_TRUE(daemon_.spawn({VFS_DAEMON_PATH, "--socket-path=" + socket_,
                               "--shared-dir=" + share_, "--modcaps=+sys_admin:-nosuchcap"},
                              dir_ + "/daemon.log"));
    auto st = daemon_.wait_exit(5000);
    ASSERT_TRUE(st.has_value());
    EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) != 0);
    EXPECT_NE(daemon_.log().find("nosuchcap"), std::string::npos) << daemon_.log();
}

// Started by an unprivileged user: the same sandbox inside a user namespace that maps
// only that user's ids (as root here, the test drops to nobody with setpriv).
TEST_F(Sandbox, UnprivilegedGetsAUserNamespaceWithItsOwnIds) {
    if (::geteuid() != 0) GTEST_SKIP() << "the other tests already run unprivileged here";
    constexpr uid_t kNobody = 65534;
    const std::string home = dir_ + "/nobody";
    std::filesystem::create_directory(home);
    std::filesystem::rename(share_, home + "/share");
    share_ = home + "/share";
    socket_ = home + "/vhost.sock";
    char real[PATH_MAX];
    ASSERT_NE(::realpath(share_.c_str(), real), nullptr);
    real_share_ = real;
    ::chmod(dir_.c_str(), 0755);
    for (const auto& p : {home, share_, share_ + "/file.txt"})
        ASSERT_EQ(::chown(p.c_str(), kNobody, kNobody), 0) << p;
    ASSERT_TRUE(daemon_.spawn({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                               "--clear-groups", VFS_DAEMON_PATH, "--socket-path=" + socket_,
                               "--shared-dir=" + share_, "--num-queues=2", "--rlimit-nofile=0"},
                              dir_ + "/daemon.log"));
    ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
    const pid_t server = server_pid();
    ASSERT_GT(server, 0) << daemon_.log();
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    EXPECT_EQ(status_field(server, "Uid").substr(0, 5), "65534");
    EXPECT_EQ(status_field(server, "Seccomp"), "2");
    // One line: the caller's uid onto itself, one id.
    const std::string uid_map = read_text("/proc/" + std::to_string(server) + "/uid_map");
    std::istringstream map(uid_map);
    uint64_t inside = 0, outside = 0, count = 0;
    map >> inside >> outside >> count;
    EXPECT_TRUE(inside == kNobody && outside == kNobody && count == 1) << uid_map;
    const auto mounts = mounts_of(server);
    for (const auto& m : mounts)
        EXPECT_NE(m.mount_point, "/proc");
    expect_file_readable();
}

TEST_F(Sandbox, ChrootMakesTheShareTheRoot) {
    if (::geteuid() != 0) GTEST_SKIP() << "chroot needs root";
    start({"--sandbox=chroot"});
    const pid_t server = daemon_.pid();  // no fork in a chroot
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    std::error_code ec;
    EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(server) + "/root", ec),
              real_share_);
    EXPECT_EQ(status_field(server, "Seccomp"), "2");
    EXPECT_EQ(cap_eff(server), kDefaultCaps);
    expect_file_readable();
}

TEST_F(Sandbox, NoneLeavesTheHostTreeAndNoFilter) {
    start({"--sandbox=none", "--seccomp=none"});
    const pid_t server = daemon_.pid();
    // Once the front-end is served, the daemon has finished confining itself.
    connect();
    EXPECT_EQ(status_field(server, "Seccomp"), "0");
    std::error_code ec;
    EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(server) + "/root", ec), "/");
    expect_file_readable();
}

TEST_F(Sandbox, LibvirtsCompatFormSelectsTheSandbox) {
    if (::geteuid() != 0) GTEST_SKIP() << "chroot needs root";
    start({"-o", "sandbox=chroot"});
    connect();
    std::error_code ec;
    EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(daemon_.pid()) + "/root", ec),
              real_share_);
}

}  // namespace
}  // namespace vfs::test
