// Migration state: the stream format round-trips and refuses hostile bytes (truncated,
// garbage, oversized, escaping paths), and a real passthrough's state saved on one
// daemon's tables loads into a second one on the same share: same node ids, same open
// files, the session up without INIT; a missing or escaping path follows
// --migration-on-error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "fs/passthrough_fs.h"
#include "fuse/session.h"
#include "migration/state_format.h"
#include "migration/state_load.h"
#include "migration/state_save.h"

namespace fs = std::filesystem;
using namespace vfs::host;
using namespace vfs::host::migration;

namespace {

State sample_state() {
    State s;
    s.session = {true, 31, FUSE_ASYNC_READ | FUSE_BIG_WRITES};
    s.next_nodeid = 10;
    s.next_fh = 7;
    InodeRecord a;
    a.nodeid = 2;
    a.nlookup = 3;
    a.type = S_IFREG;
    a.path = "dir/file.txt";
    InodeRecord b;
    b.nodeid = 5;
    b.nlookup = 1;
    b.type = S_IFDIR;
    b.locator = Locator::kHandle;
    b.has_handle = true;
    b.handle.type = 1;
    b.handle.size = 8;
    for (uint32_t i = 0; i < 8; ++i)
        b.handle.bytes[i] = static_cast<unsigned char>(i + 1);
    InodeRecord c;
    c.nodeid = 9;
    c.nlookup = 1;
    c.type = S_IFREG;
    c.locator = Locator::kLost;
    s.inodes = {a, b, c};
    s.handles = {{1, 2, O_RDWR | O_APPEND, false}, {6, 5, O_RDONLY | O_DIRECTORY, true}};
    return s;
}

void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
    std::memcpy(b.data() + at, &v, sizeof(v));
}
void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
    std::memcpy(b.data() + at, &v, sizeof(v));
}

}  // namespace

TEST(MigrationStateFormat, RoundTrips) {
    const State s = sample_state();
    auto d = decode(encode(s));
    ASSERT_TRUE(d.ok()) << d.error();
    EXPECT_TRUE(d->session.initialized);
    EXPECT_EQ(d->session.minor, 31u);
    EXPECT_EQ(d->session.flags, s.session.flags);
    EXPECT_EQ(d->next_nodeid, 10u);
    EXPECT_EQ(d->next_fh, 7u);
    ASSERT_EQ(d->inodes.size(), 3u);
    EXPECT_EQ(d->inodes[0].path, "dir/file.txt");
    EXPECT_EQ(d->inodes[0].nlookup, 3u);
    EXPECT_EQ(d->inodes[1].locator, Locator::kHandle);
    EXPECT_EQ(d->inodes[1].handle.size, 8u);
    EXPECT_EQ(std::memcmp(d->inodes[1].handle.bytes, s.inodes[1].handle.bytes, 8), 0);
    EXPECT_EQ(d->inodes[2].locator, Locator::kLost);
    ASSERT_EQ(d->handles.size(), 2u);
    EXPECT_EQ(d->handles[0].open_flags, static_cast<uint32_t>(O_RDWR | O_APPEND));
    EXPECT_TRUE(d->handles[1].is_dir);
}

TEST(MigrationStateFormat, EveryTruncationIsRefused) {
    const auto bytes = encode(sample_state());
    for (size_t n = 0; n < bytes.size(); ++n)
        EXPECT_FALSE(decode(std::span(bytes.data(), n)).ok()) << "prefix of " << n << " bytes";
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode(longer).ok()) << "a trailing byte";
}

TEST(MigrationStateFormat, GarbageVersionsAndSizesAreRefused) {
    const auto good = encode(sample_state());
    auto bad_magic = good;
    bad_magic[0] = 'X';
    EXPECT_EQ(decode(bad_magic).error(), EINVAL);
    auto version = good;
    put_u32(version, 8, kStateVersion + 1);
    EXPECT_EQ(decode(version).error(), EPROTONOSUPPORT);
    auto reserved = good;
    put_u32(reserved, 12, 1);
    EXPECT_EQ(decode(reserved).error(), EINVAL);
    auto huge = good;
    put_u64(huge, 16, kMaxBodyBytes + 1);
    EXPECT_EQ(decode(huge).error(), E2BIG);
    // A count far beyond what the body holds is refused before anything is reserved.
    auto many = good;
    put_u32(many, kStreamHeaderBytes + 1 + 4 + 8 + 8 + 8, 0x7fffffff);
    EXPECT_FALSE(decode(many).ok());
    std::vector<uint8_t> noise(4096);
    for (size_t i = 0; i < noise.size(); ++i)
        noise[i] = static_cast<uint8_t>(i * 131 + 7);
    EXPECT_FALSE(decode(noise).ok());
}

TEST(MigrationStateFormat, RecordsThatCannotBeRightAreRefused) {
    for (const char* path : {"../canary", "/etc/passwd", "a/../../b", "a//b", "./a", "a/.", ""}) {
        State s = sample_state();
        s.inodes[0].path = path;
        EXPECT_FALSE(decode(encode(s)).ok()) << path;
    }
    State nul = sample_state();
    nul.inodes[0].path = std::string("a\0b", 3);
    EXPECT_FALSE(decode(encode(nul)).ok());
    State big_handle = sample_state();
    big_handle.inodes[1].handle.size = 0;
    EXPECT_FALSE(decode(encode(big_handle)).ok());
    State lost_with_path = sample_state();
    lost_with_path.inodes[2].path = "x";
    EXPECT_FALSE(decode(encode(lost_with_path)).ok());
    auto bytes = encode(sample_state());
    // The first inode's locator byte: header, session (13), next ids (16), count (4),
    // then nodeid, nlookup, type.
    bytes[kStreamHeaderBytes + 13 + 16 + 4 + 8 + 8 + 4] = 7;
    EXPECT_FALSE(decode(bytes).ok());
}

namespace {

// Two passthroughs on one share, as a source and a destination daemon would be.
class MigrationFsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/vfs-migration-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        top_ = tmpl;
        share_ = top_ / "share";
        fs::create_directories(share_ / "dir");
        std::ofstream(top_ / "canary") << "outside";
        std::ofstream(share_ / "dir" / "file.txt") << "hello";
        src_ = make_fs();
    }
    void TearDown() override {
        src_.reset();
        fs::remove_all(top_);
    }
    std::unique_ptr<PassthroughFs> make_fs() {
        FsOptions o;
        o.shared_dir = share_;
        auto r = PassthroughFs::create(o);
        EXPECT_TRUE(r.ok());
        return r.ok() ? std::move(*r) : nullptr;
    }
    uint64_t lookup(PassthroughFs& f, uint64_t parent, const char* name) {
        auto e = f.lookup(ctx_, parent, name);
        EXPECT_TRUE(e.ok()) << name;
        return e.ok() ? e->nodeid : 0;
    }
    // Looks up dir/file.txt, opens it for appending and dir for reading.
    void open_some() {
        dir_ = lookup(*src_, FUSE_ROOT_ID, "dir");
        file_ = lookup(*src_, dir_, "file.txt");
        auto o = src_->open(ctx_, file_, O_WRONLY | O_APPEND);
        ASSERT_TRUE(o.ok());
        fh_ = o->fh;
        auto d = src_->opendir(ctx_, dir_, 0);
        ASSERT_TRUE(d.ok());
        dir_fh_ = d->fh;
        NegotiatedInit n;
        n.flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES;
        n.proto.minor = 31;
        ASSERT_TRUE(src_session_.begin(n));
    }
    vfs::wire::Status migrate(PassthroughFs& dst, Session& dst_session, const Options& o) {
        auto s = save_state(*src_, src_session_, o);
        if (!s) return vfs::wire::Error{s.error()};
        auto d = decode(encode(*s));
        if (!d) return vfs::wire::Error{d.error()};
        return load_state(dst, dst_session, *d, o);
    }
    std::string read_share(const char* rel) {
        std::ifstream f(share_ / rel);
        return {std::istreambuf_iterator<char>(f), {}};
    }

    fs::path top_, share_;
    std::unique_ptr<PassthroughFs> src_;
    Session src_session_;
    RequestContext ctx_{0, 0, 1};
    uint64_t dir_ = 0, file_ = 0, fh_ = 0, dir_fh_ = 0;
};

}  // namespace

TEST_F(MigrationFsTest, StateMovesToASecondDaemonOnTheSameShare) {
    open_some();
    auto dst = make_fs();
    Session dst_session;
    ASSERT_TRUE(migrate(*dst, dst_session, Options{}).ok());
    EXPECT_TRUE(dst_session.initialized());
    EXPECT_EQ(dst_session.proto().minor, 31u);
    EXPECT_EQ(dst_session.flags(), static_cast<uint64_t>(FUSE_ASYNC_READ | FUSE_BIG_WRITES));
    // The same node ids name the same files, and the open handle still appends.
    auto a = dst->getattr(file_, nullptr);
    ASSERT_TRUE(a.ok());
    struct stat st {};
    ASSERT_EQ(::stat((share_ / "dir" / "file.txt").c_str(), &st), 0);
    EXPECT_EQ(a->attr.ino, st.st_ino);
    EXPECT_EQ(a->attr.size, 5u);
    auto w = dst->data_file(fh_, DataAccess::kWrite);
    ASSERT_TRUE(w.ok()) << w.error();
    ASSERT_EQ(::pwrite(w->fd(), " world", 6, 0), 6);
    EXPECT_EQ(read_share("dir/file.txt"), "hello world") << "O_APPEND kept";
    // The open directory lists on the destination (its handle got a directory stream).
    std::vector<std::string> names;
    ASSERT_TRUE(dst->readdir(ctx_, dir_fh_, 0, false,
                             [&](const DirEntry& de) {
                                 names.emplace_back(de.name);
                                 return true;
                             })
                    .ok());
    EXPECT_NE(std::find(names.begin(), names.end(), "file.txt"), names.end());
    EXPECT_TRUE(dst->releasedir(dir_fh_).ok());
    EXPECT_TRUE(dst->release(fh_, 0, 0).ok());
    // New ids never collide with migrated ones.
    std::ofstream(share_ / "new.txt") << "n";
    const uint64_t fresh = lookup(*dst, FUSE_ROOT_ID, "new.txt");
    EXPECT_GT(fresh, file_);
    EXPECT_GT(fresh, dir_);
    // A loaded daemon refuses a second load.
    Session again;
    EXPECT_EQ(migrate(*dst, again, Options{}).error(), EBUSY);
}

TEST_F(MigrationFsTest, FindPathsFollowsARenameOnTheHost) {
    open_some();
    fs::rename(share_ / "dir" / "file.txt", share_ / "renamed.txt");
    auto dst = make_fs();
    Session dst_session;
    Options o;
    o.confirm_paths = true;
    o.verify_handles = true;
    ASSERT_TRUE(migrate(*dst, dst_session, o).ok());
    auto w = dst->data_file(fh_, DataAccess::kWrite);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(::pwrite(w->fd(), "!", 1, 0), 1);
    EXPECT_EQ(read_share("renamed.txt"), "hello!");
}

TEST_F(MigrationFsTest, MissingPathAbortsOrBecomesEio) {
    open_some();
    // The destination's share lacks the file: a state naming it cannot be honoured.
    auto s = save_state(*src_, src_session_, Options{});
    ASSERT_TRUE(s.ok());
    fs::rename(share_ / "dir" / "file.txt", top_ / "elsewhere.txt");
    {
        auto dst = make_fs();
        Session dst_session;
        EXPECT_EQ(load_state(*dst, dst_session, *s, Options{}).error(), ENOENT);
        EXPECT_EQ(dst->inodes().size(), 1u) << "an aborted load installs nothing";
        EXPECT_FALSE(dst_session.initialized());
    }
    auto dst = make_fs();
    Session dst_session;
    Options ge;
    ge.on_error = OnError::kGuestError;
    ASSERT_TRUE(load_state(*dst, dst_session, *s, ge).ok());
    EXPECT_EQ(dst->getattr(file_, nullptr).error(), EIO);
    EXPECT_EQ(dst->data_file(fh_, DataAccess::kWrite).error(), EIO);
    EXPECT_TRUE(dst->getattr(dir_, nullptr).ok()) << "the rest is served";
    EXPECT_TRUE(dst->release(fh_, 0, 0).ok());
}

TEST_F(MigrationFsTest, AFileDeletedBeforeTheSaveFollowsOnError) {
    open_some();
    fs::remove(share_ / "dir" / "file.txt");
    auto dst = make_fs();
    Session dst_session;
    EXPECT_FALSE(migrate(*dst, dst_session, Options{}).ok()) << "abort: the save fails";
    Options ge;
    ge.on_error = OnError::kGuestError;
    ASSERT_TRUE(migrate(*dst, dst_session, ge).ok());
    EXPECT_EQ(dst->getattr(file_, nullptr).error(), EIO);
}

TEST_F(MigrationFsTest, PathsThatWouldEscapeTheShareAreRefused) {
    open_some();
    auto s = save_state(*src_, src_session_, Options{});
    ASSERT_TRUE(s.ok());
    // A symlink in the destination's share pointing out of it: the walk never follows it.
    fs::create_directory_symlink(top_, share_ / "out");
    for (auto& i : s->inodes)
        if (i.nodeid == file_) i.path = "out/canary";
    auto dst = make_fs();
    Session dst_session;
    EXPECT_FALSE(load_state(*dst, dst_session, *s, Options{}).ok());
    EXPECT_EQ(dst->inodes().size(), 1u);
    Options ge;
    ge.on_error = OnError::kGuestError;
    ASSERT_TRUE(load_state(*dst, dst_session, *s, ge).ok());
    EXPECT_EQ(dst->data_file(fh_, DataAccess::kWrite).error(), EIO);
    std::ifstream canary(top_ / "canary");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(canary), {}), "outside");
}

TEST_F(MigrationFsTest, InconsistentStatesAreRefused) {
    open_some();
    auto good = save_state(*src_, src_session_, Options{});
    ASSERT_TRUE(good.ok());
    auto refused = [&](State s) {
        auto dst = make_fs();
        Session dst_session;
        return !load_state(*dst, dst_session, s, Options{}).ok();
    };
    State dup = *good;
    dup.inodes.push_back(dup.inodes.front());
    EXPECT_TRUE(refused(dup)) << "a node id twice";
    State root = *good;
    root.inodes.front().nodeid = 1;
    EXPECT_TRUE(refused(root)) << "the root";
    State past = *good;
    past.next_nodeid = 2;
    EXPECT_TRUE(refused(past)) << "ids past next_nodeid";
    State orphan = *good;
    orphan.handles.front().nodeid = 999;
    EXPECT_TRUE(refused(orphan)) << "a handle on no inode";
    State kind = *good;
    for (auto& h : kind.handles)
        h.is_dir = !h.is_dir;
    EXPECT_TRUE(refused(kind)) << "a file handle on a directory";
    State flags = *good;
    flags.session.flags |= FUSE_POSIX_LOCKS;  // not offered without -o posix_lock
    EXPECT_TRUE(refused(flags)) << "a flag our INIT never agrees to";
    State minor = *good;
    minor.session.minor = 1000;
    EXPECT_TRUE(refused(minor)) << "a minor we do not speak";
}
