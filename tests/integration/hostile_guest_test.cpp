// The hostile-guest suite (issue 13): FUSE requests no honest guest kernel sends, through
// the in-process frontend to the daemon binary. Each case runs 1000 times and is checked
// on behaviour: the error reply, the daemon still serving the next request, a canary file
// and an empty directory beside the share untouched, and the serving process's RSS
// (VmRSS) and open fd count bounded across the loop. Descriptor-level hostility (loops,
// addresses outside memory, bad indirect tables) is in hostile_vhost_user_test.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>  // RENAME_NOREPLACE
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using namespace vfs::slowfs;
namespace fs = std::filesystem;

constexpr uint32_t kQ = 1;
constexpr uint32_t kCap = 8192;
constexpr int kLoops = 1000;
// Bounds across a loop of kLoops requests, after a warm-up of the same requests: the
// daemon may keep a few fds (a cached parent) and grow its heap a little, never per request.
constexpr long kMaxFdGrowth = 4;
constexpr long kMaxRssGrowthKiB = 8 * 1024;

// raw_request (raw_fuse.h) with a fixed argument struct and a tail a hostile guest sends.
template <class Arg>
std::vector<uint8_t> with_tail(uint32_t opcode, uint64_t unique, uint64_t nodeid, const Arg& arg,
                               const std::string& tail) {
    return raw_request(opcode, unique, nodeid, &arg, sizeof(arg), tail);
}
std::string z(const std::string& name) {
    return name + std::string(1, '\0');
}

// The daemon's own resident memory: VmRSS less RssShmem, the guest RAM it maps (shared
// memfd pages count once the daemon touches them, and the frontend spreads its request
// buffers over the whole RAM, so VmRSS alone grows by the RAM's size whatever the daemon).
struct Usage {
    long rss_kib = 0;
    long fds = 0;
};

class HostileGuest : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override { start(GetParam()); }
    void start(const char* sandbox) {
        dir_ = make_temp_dir("vfs-hostile");
        ASSERT_FALSE(dir_.empty());
        share_ = dir_ + "/share";
        fs::create_directory(share_);
        fs::create_directory(dir_ + "/outside");
        std::ofstream(dir_ + "/canary") << "canary";
        ASSERT_EQ(::chmod((dir_ + "/canary").c_str(), 0640), 0);
        ASSERT_EQ(::stat((dir_ + "/canary").c_str(), &canary_), 0);
        std::ofstream(share_ + "/f") << "file";
        fs::create_directories(share_ + "/inbox/d/e");
        ASSERT_EQ(::symlink("../canary", (share_ + "/esc").c_str()), 0);
        ASSERT_EQ(::symlink((dir_ + "/canary").c_str(), (share_ + "/abs").c_str()), 0);
        ASSERT_EQ(::symlink("../outside", (share_ + "/dirl").c_str()), 0);
        spawn_daemon_and_connect(daemon_, dir_ + "/vhost.sock", share_, dir_ + "/daemon.log",
                                 {std::string("--sandbox=") + sandbox}, &fe_);
        if (HasFatalFailure()) return;
        ASSERT_TRUE(fe_->fuse_init(kQ)) << daemon_.log();
        server_ = server_pid();
        ASSERT_GT(server_, 0);
    }
    void TearDown() override { disconnect_and_stop(fe_, daemon_, dir_); }

    // In the namespace sandbox the process that serves is the child of the one started.
    pid_t server_pid() {
        if (std::string(GetParam()) != "namespace") return daemon_.pid();
        return daemon_.sandboxed_child();
    }
    Usage usage() {
        Usage u;
        std::istringstream in(read_text("/proc/" + std::to_string(server_) + "/status"));
        for (std::string line; std::getline(in, line);)
            if (line.rfind("VmRSS:", 0) == 0)
                u.rss_kib += std::stol(line.substr(6));
            else if (line.rfind("RssShmem:", 0) == 0)
                u.rss_kib -= std::stol(line.substr(9));
        for ([[maybe_unused]] const auto& e :
             fs::directory_iterator("/proc/" + std::to_string(server_) + "/fd"))
            ++u.fds;
        return u;
    }

    std::vector<uint8_t> send(const std::vector<uint8_t>& req) {
        auto r = fe_->request(kQ, req, kCap);
        EXPECT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        return r ? *r : std::vector<uint8_t>{};
    }
    int error_of(const std::vector<uint8_t>& req) { return reply_header(send(req)).error; }
    uint64_t unique() { return fe_->next_unique(); }
    fuse_entry_out lookup(uint64_t parent, const std::string& name) {
        auto r = send(lookup_request(unique(), parent, name));
        EXPECT_EQ(reply_header(r).error, 0) << name;
        return reply_body<fuse_entry_out>(r);
    }
    void forget(uint64_t node, uint64_t n) {
        fuse_forget_in in{};
        in.nlookup = n;
        send(fuse_request(FUSE_FORGET, unique(), node, in));
    }

    // Runs `one` (which checks its own replies) kLoops times after a warm-up, then checks
    // the bounds, that the daemon serves, and that nothing beside the share changed.
    void hostile_loop(const std::function<void(int)>& one) {
        for (int i = 0; i < 20; ++i)
            one(i);
        const Usage before = usage();
        for (int i = 0; i < kLoops && !HasFailure(); ++i)
            one(i);
        const Usage after = usage();
        EXPECT_LE(after.fds - before.fds, kMaxFdGrowth) << before.fds << " -> " << after.fds;
        EXPECT_LE(after.rss_kib - before.rss_kib, kMaxRssGrowthKiB)
            << before.rss_kib << " KiB -> " << after.rss_kib << " KiB";
        expect_serving_and_canary_intact();
    }
    void expect_serving_and_canary_intact() {
        EXPECT_FALSE(daemon_.exited()) << daemon_.log();
        EXPECT_EQ(error_of(getattr_request(unique(), FUSE_ROOT_ID)), 0) << daemon_.log();
        EXPECT_EQ(lookup(FUSE_ROOT_ID, "f").attr.size, 4u);
        struct stat now {};
        ASSERT_EQ(::stat((dir_ + "/canary").c_str(), &now), 0);
        EXPECT_EQ(read_text(dir_ + "/canary"), "canary");
        EXPECT_EQ(now.st_mode, canary_.st_mode);
        EXPECT_EQ(now.st_uid, canary_.st_uid);
        EXPECT_EQ(now.st_nlink, canary_.st_nlink);
        EXPECT_EQ(now.st_mtim.tv_nsec, canary_.st_mtim.tv_nsec);
        EXPECT_EQ(now.st_ctim.tv_sec, canary_.st_ctim.tv_sec);
        EXPECT_EQ(now.st_ctim.tv_nsec, canary_.st_ctim.tv_nsec);
        EXPECT_TRUE(fs::is_empty(dir_ + "/outside")) << "something was made outside the share";
        size_t beside = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_))
            ++beside;
        EXPECT_LE(beside, 6u) << "something new beside the share";  // + daemon.log, sock, moved
    }

    std::string dir_, share_;
    struct stat canary_ {};
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
    pid_t server_ = 0;
};

// Node ids the daemon never gave out: random 64-bit values, 0, and ~0.
uint64_t forged(int i) {
    if (i % 7 == 0) return 0;
    if (i % 7 == 1) return ~0ull;
    return 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(i + 3);
}

TEST_P(HostileGuest, ForgedNodeIdsAreRefused) {
    hostile_loop([&](int i) {
        const uint64_t n = forged(i);
        EXPECT_LT(error_of(getattr_request(unique(), n)), 0) << std::hex << n;
        EXPECT_LT(error_of(lookup_request(unique(), n, "f")), 0) << std::hex << n;
        EXPECT_LT(error_of(open_request(unique(), n, O_RDONLY)), 0) << std::hex << n;
        EXPECT_LT(error_of(mknod_request(unique(), n, "x", S_IFREG | 0600, 0)), 0);
        fuse_setattr_in sa{};
        sa.valid = FATTR_SIZE;
        EXPECT_LT(error_of(setattr_request(unique(), n, sa)), 0) << std::hex << n;
        forget(n, 1);  // no reply, and nothing to count down
    });
}

TEST_P(HostileGuest, ForgedFileHandlesAreRefused) {
    const uint64_t f = lookup(FUSE_ROOT_ID, "f").nodeid;
    hostile_loop([&](int i) {
        const uint64_t fh = forged(i);
        EXPECT_LT(error_of(read_request(unique(), f, fh, 0, 4096)), 0) << std::hex << fh;
        EXPECT_LT(error_of(write_request(unique(), f, fh, 0, {'x'})), 0) << std::hex << fh;
        fuse_read_in rd{};
        rd.fh = fh;
        rd.size = 4096;
        EXPECT_LT(error_of(fuse_request(FUSE_READDIR, unique(), FUSE_ROOT_ID, rd)), 0);
        fuse_fsync_in fs_in{};
        fs_in.fh = fh;
        EXPECT_LT(error_of(fuse_request(FUSE_FSYNC, unique(), f, fs_in)), 0);
        // RELEASE/RELEASEDIR of a handle never given: answered, whatever the errno.
        fuse_release_in rel{};
        rel.fh = fh;
        send(fuse_request(FUSE_RELEASE, unique(), f, rel));
        send(fuse_request(FUSE_RELEASEDIR, unique(), FUSE_ROOT_ID, rel));
    });
    EXPECT_EQ(read_text(share_ + "/f"), "file");
}

// FORGET for more lookups than were counted, again after the node is gone, and batches of
// both: the node goes, its id is then refused, and the file is still there to look up.
TEST_P(HostileGuest, ForgetUnderflowDropsTheNodeOnly) {
    hostile_loop([&](int i) {
        const uint64_t n = lookup(FUSE_ROOT_ID, "f").nodeid;
        ASSERT_NE(n, 0u);
        forget(n, i % 2 ? ~0ull : 3);
        forget(n, 1);
        struct {
            fuse_batch_forget_in in;
            fuse_forget_one one[3];
        } __attribute__((packed)) b{};
        b.in.count = 3;
        b.one[0] = {n, ~0ull};
        b.one[1] = {forged(i), 5};
        b.one[2] = {FUSE_ROOT_ID, ~0ull};  // the root is never forgotten
        send(fuse_request(FUSE_BATCH_FORGET, unique(), 0, b));
        EXPECT_LT(error_of(getattr_request(unique(), n)), 0) << "a forgotten node still answers";
    });
    EXPECT_EQ(error_of(getattr_request(unique(), FUSE_ROOT_ID)), 0);
}

TEST_P(HostileGuest, BadNamesAreRefused) {
    const std::string long_name(256, 'n');
    const std::string very_long(4000, 'v');
    fuse_mkdir_in mk{};
    mk.mode = 0755;
    fuse_create_in cr{};
    cr.flags = O_RDWR | O_CREAT;
    cr.mode = S_IFREG | 0644;
    const std::vector<std::string> bad = {"a/b", "/etc", "../canary", "..",
                                          ".",   "",     long_name,   very_long};
    hostile_loop([&](int i) {
        const std::string& name = bad[static_cast<size_t>(i) % bad.size()];
        EXPECT_LT(error_of(with_tail(FUSE_MKDIR, unique(), FUSE_ROOT_ID, mk, z(name))), 0)
            << "mkdir '" << name.substr(0, 20) << "'";
        EXPECT_LT(error_of(with_tail(FUSE_CREATE, unique(), FUSE_ROOT_ID, cr, z(name))), 0)
            << "create '" << name.substr(0, 20) << "'";
        EXPECT_LT(error_of(raw_request(FUSE_UNLINK, unique(), FUSE_ROOT_ID, nullptr, 0, z(name))),
                  0)
            << "unlink '" << name.substr(0, 20) << "'";
        if (name != ".." && name != ".") {
            EXPECT_LT(
                error_of(raw_request(FUSE_LOOKUP, unique(), FUSE_ROOT_ID, nullptr, 0, z(name))), 0)
                << "lookup '" << name.substr(0, 20) << "'";
        }
        // A NUL inside the name, and a name with no NUL at all.
        EXPECT_LT(
            error_of(with_tail(FUSE_MKDIR, unique(), FUSE_ROOT_ID, mk, z(std::string("x\0y", 3)))),
            0);
        EXPECT_LT(error_of(with_tail(FUSE_MKDIR, unique(), FUSE_ROOT_ID, mk, "nonul")), 0);
    });
    // ".." of the root is the root: the share's own inode, nothing above it.
    const auto up = lookup(FUSE_ROOT_ID, "..");
    struct stat st {};
    ASSERT_EQ(::stat(share_.c_str(), &st), 0);
    EXPECT_EQ(up.attr.ino, st.st_ino);
    EXPECT_FALSE(fs::exists(share_ + "/x")) << "a name cut at its NUL was created";
    EXPECT_FALSE(fs::exists(share_ + "/nonul"));
}

// Symlinks pointing out of the share (relative, absolute, to a directory) are stored, never
// followed: opening, truncating, or creating through them reaches nothing outside.
TEST_P(HostileGuest, SymlinkEscapesReachNothingOutside) {
    fuse_create_in cr{};
    cr.flags = O_RDWR | O_CREAT;
    cr.mode = S_IFREG | 0644;
    fuse_mkdir_in mk{};
    mk.mode = 0755;
    hostile_loop([&](int i) {
        const char* link = i % 2 ? "esc" : "abs";
        const uint64_t s = lookup(FUSE_ROOT_ID, link).nodeid;
        EXPECT_LT(error_of(open_request(unique(), s, O_RDWR | O_TRUNC)), 0) << link;
        fuse_setattr_in sa{};
        sa.valid = FATTR_SIZE | FATTR_MODE;
        sa.mode = S_IFREG | 0777;
        (void)error_of(setattr_request(unique(), s, sa));  // may apply to the link itself
        const uint64_t d = lookup(FUSE_ROOT_ID, "dirl").nodeid;
        EXPECT_LT(error_of(with_tail(FUSE_CREATE, unique(), d, cr, z("made"))), 0);
        EXPECT_LT(error_of(with_tail(FUSE_MKDIR, unique(), d, mk, z("made"))), 0);
        EXPECT_LT(error_of(lookup_request(unique(), d, "x")), 0);
        fuse_open_in od{};
        EXPECT_LT(error_of(fuse_request(FUSE_OPENDIR, unique(), d, od)), 0);
        forget(s, 1);
        forget(d, 1);
    });
    EXPECT_EQ(fs::read_symlink(share_ + "/esc"), "../canary");
}

// RENAME and LINK whose target is outside: by a name with '/', '..', a forged parent, or a
// symlink to a directory outside used as the new parent.
TEST_P(HostileGuest, RenameAndLinkCannotLeaveTheShare) {
    const uint64_t f = lookup(FUSE_ROOT_ID, "f").nodeid;
    const uint64_t dirl = lookup(FUSE_ROOT_ID, "dirl").nodeid;
    const std::vector<std::pair<uint64_t, std::string>> targets = {
        {FUSE_ROOT_ID, "../moved"}, {FUSE_ROOT_ID, "/tmp/moved"},
        {FUSE_ROOT_ID, ".."},       {dirl, "moved"},
        {~0ull, "moved"},           {0, "moved"}};
    hostile_loop([&](int i) {
        const auto& [parent, name] = targets[static_cast<size_t>(i) % targets.size()];
        fuse_rename_in rn{};
        rn.newdir = parent;
        EXPECT_LT(error_of(with_tail(FUSE_RENAME, unique(), FUSE_ROOT_ID, rn, z("f") + z(name))), 0)
            << name;
        fuse_rename2_in rn2{};
        rn2.newdir = parent;
        rn2.flags = (i % 2) ? RENAME_NOREPLACE : 0;
        EXPECT_LT(error_of(with_tail(FUSE_RENAME2, unique(), FUSE_ROOT_ID, rn2, z("f") + z(name))),
                  0)
            << name;
        fuse_link_in ln{};
        ln.oldnodeid = f;
        EXPECT_LT(error_of(with_tail(FUSE_LINK, unique(), parent, ln, z(name))), 0) << name;
        // The source named by '..' from the root: there is nothing there to move.
        rn.newdir = FUSE_ROOT_ID;
        EXPECT_LT(
            error_of(with_tail(FUSE_RENAME, unique(), FUSE_ROOT_ID, rn, z("..") + z("stolen"))), 0);
    });
    EXPECT_EQ(read_text(share_ + "/f"), "file");
    struct stat st {};
    ASSERT_EQ(::stat((share_ + "/f").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u);
    EXPECT_FALSE(fs::exists(dir_ + "/moved"));
    EXPECT_FALSE(fs::exists("/tmp/moved"));
}

// READDIR and READDIRPLUS asking for up to 4 GiB, at any offset: the reply fits the
// guest's buffer, and nothing the daemon keeps grows with the size asked for.
TEST_P(HostileGuest, HugeReaddirSizesAreBoundedByTheBuffer) {
    for (int i = 0; i < 300; ++i)
        std::ofstream(share_ + "/inbox/n" + std::to_string(i)) << i;
    const uint64_t inbox = lookup(FUSE_ROOT_ID, "inbox").nodeid;
    hostile_loop([&](int i) {
        fuse_open_in od{};
        auto o = send(fuse_request(FUSE_OPENDIR, unique(), inbox, od));
        ASSERT_EQ(reply_header(o).error, 0);
        const uint64_t fh = reply_body<fuse_open_out>(o).fh;
        fuse_read_in rd{};
        rd.fh = fh;
        rd.size = (i % 3 == 0) ? ~0u : (i % 3 == 1) ? 0x80000000u : 1u << 20;
        rd.offset = (i % 5 == 0) ? ~0ull : 0;
        const uint32_t op = (i % 2) ? FUSE_READDIRPLUS : FUSE_READDIR;
        auto r = send(fuse_request(op, unique(), inbox, rd));
        EXPECT_LE(r.size(), kCap);
        EXPECT_EQ(reply_header(r).len, r.size());
        fuse_release_in rel{};
        rel.fh = fh;
        EXPECT_EQ(reply_header(send(fuse_request(FUSE_RELEASEDIR, unique(), inbox, rel))).error, 0);
        // READDIRPLUS counted lookups for what it listed: give them back as a guest would.
        if (op == FUSE_READDIRPLUS) {
            for (size_t off = sizeof(fuse_out_header); off + sizeof(fuse_direntplus) <= r.size();) {
                fuse_direntplus d;
                memcpy(&d, r.data() + off, sizeof(d));
                if (d.entry_out.nodeid != 0) forget(d.entry_out.nodeid, 1);
                off += FUSE_DIRENTPLUS_SIZE(&d);
            }
        }
    });
}

// Finding 1 of the review: the guest holds a directory's node id, the host moves that
// directory out of the share, and the guest climbs with LOOKUP "..". The moved directory
// itself stays reachable (inherent to fd-held inodes); nothing above it is, in every
// sandbox mode (the passthrough checks, not only the sandbox's mount).
TEST_P(HostileGuest, DotDotNeverClimbsOutOfAMovedDirectory) {
    const uint64_t inbox = lookup(FUSE_ROOT_ID, "inbox").nodeid;
    const uint64_t d = lookup(inbox, "d").nodeid;
    const uint64_t e = lookup(d, "e").nodeid;
    fs::create_directory(dir_ + "/elsewhere");
    fs::rename(share_ + "/inbox/d", dir_ + "/elsewhere/d");
    hostile_loop([&](int i) {
        auto up = send(lookup_request(unique(), i % 2 ? d : e, ".."));
        uint64_t node = reply_header(up).error == 0 ? reply_body<fuse_entry_out>(up).nodeid : 0;
        if (i % 2 == 0 && node != 0) {
            EXPECT_EQ(node, d) << "e's parent is d, which the guest already held";
            forget(node, 1);
        } else {
            EXPECT_EQ(node, 0u) << "climbed from the moved directory to node " << node;
        }
        // Up to the host's root and over to its files: never.
        for (const char* name : {"canary", "share", "etc", "elsewhere"})
            EXPECT_LT(error_of(lookup_request(unique(), d, name)), 0) << name;
    });
    EXPECT_EQ(lookup(inbox, "..").nodeid, FUSE_ROOT_ID);
}

INSTANTIATE_TEST_SUITE_P(Sandbox, HostileGuest, ::testing::Values("namespace", "none"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace vfs::test
