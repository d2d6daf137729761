// DAX through tools/frontend (QEMU 11.1's part): virtiofsd-cxx with --dax-window maps file
// ranges into the frontend's window over the backend channel. A mapping round trip (the
// window and the host file see each other's writes), replacement, lifetime across a ring
// stop, and the hostile list: every bad SETUPMAPPING/REMOVEMAPPING gets an error reply,
// the daemon serves on, and no map reaches the frontend (counted at the window).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "backends.h"
#include "daemon_with_frontend.h"
#include "frontend.h"
#include "raw_fuse.h"

namespace vfs::test {
namespace {

using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
using vfs::frontend::QemuShmemRules;
using namespace vfs::slowfs;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kWindow = 16 * kMiB;
constexpr uint64_t kRange = 2 * kMiB;  // what Linux maps
constexpr uint64_t kOwnFile = ~0ull;   // fh = -1: the daemon opens the node itself
constexpr uint64_t kFileBytes = 4 * kMiB;

uint8_t pattern(uint64_t offset) {
    return static_cast<uint8_t>((offset * 7 + (offset >> 12)) & 0xff);
}

class Dax : public ::testing::Test {
  protected:
    // all_rings false: every ring but the high-priority one (queue 0) is started.
    void start(std::vector<std::string> extra = {"--dax-window=16M"}, bool shmem = true,
               bool all_rings = true) {
        dir_ = make_temp_dir("vfs-dax");
        socket_ = dir_ + "/vhost.sock";
        share_ = dir_ + "/share";
        std::filesystem::create_directory(share_);
        std::filesystem::create_directory(share_ + "/dir");
        write_file("data");
        write_file("other");
        auto argv = backend_argv(BackendKind::kOurs, socket_, share_);
        argv.insert(argv.end(), extra.begin(), extra.end());
        ASSERT_TRUE(daemon_.spawn(argv, dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
        FrontendOptions o;
        o.num_queues = 4;
        o.shmem = shmem;
        o.qemu_shmem_rules = rules_;
        o.report_shmem = report_shmem_;
        o.mem_slots = mem_slots_;
        auto f = Frontend::connect(socket_, o);
        ASSERT_TRUE(f);
        fe_ = std::move(*f);
        if (all_rings) {
            ASSERT_TRUE(fe_->setup()) << daemon_.log();
        } else {
            // The device is not started yet: QEMU starts every ring when the guest starts it.
            ASSERT_TRUE(fe_->handshake());
            ASSERT_TRUE(fe_->set_mem_table());
            for (uint32_t q = 1; q < 4; ++q)
                ASSERT_TRUE(fe_->reset_queue(q) && fe_->start_queue(q));
        }
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    void write_file(const std::string& name) {
        std::vector<uint8_t> data(kFileBytes);
        for (uint64_t i = 0; i < data.size(); ++i)
            data[i] = pattern(i);
        const int fd = ::open((share_ + "/" + name).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
        ::close(fd);
    }

    std::vector<uint8_t> call(const std::vector<uint8_t>& req, size_t reply_cap) {
        return call_daemon(*fe_, daemon_, 1, req, static_cast<uint32_t>(reply_cap));
    }
    static int32_t error_of(const std::vector<uint8_t>& reply) {
        if (reply.size() < sizeof(fuse_out_header)) return 1;  // not a reply at all
        fuse_out_header oh;
        memcpy(&oh, reply.data(), sizeof(oh));
        return -oh.error;
    }

    // INIT asking for MAP_ALIGNMENT, as Linux does on a dax mount; returns the reply.
    fuse_init_out init(bool map_alignment = true) {
        fuse_init_in in{};
        in.major = FUSE_KERNEL_VERSION;
        in.minor = FUSE_KERNEL_MINOR_VERSION;
        in.max_readahead = 128 * 1024;
        in.flags = FUSE_INIT_EXT | (map_alignment ? FUSE_MAP_ALIGNMENT : 0);
        auto r = call(fuse_request(FUSE_INIT, fe_->next_unique(), 0, in),
                      sizeof(fuse_out_header) + sizeof(fuse_init_out));
        EXPECT_EQ(error_of(r), 0);
        return reply_body<fuse_init_out>(r);
    }
    uint64_t lookup(const char* name) {
        auto r = fe_->request(1, lookup_request(fe_->next_unique(), FUSE_ROOT_ID, name),
                              sizeof(fuse_out_header) + sizeof(fuse_entry_out));
        EXPECT_TRUE(r && error_of(*r) == 0) << name << "\n" << daemon_.log();
        return r ? reply_body<fuse_entry_out>(*r).nodeid : 0;
    }
    uint64_t open(uint64_t nodeid, uint32_t flags) {
        auto r = call(open_request(fe_->next_unique(), nodeid, flags),
                      sizeof(fuse_out_header) + sizeof(fuse_open_out));
        EXPECT_EQ(error_of(r), 0);
        return reply_body<fuse_open_out>(r).fh;
    }
    // SETUPMAPPING; the errno of the reply (0: mapped).
    int32_t setup(uint64_t nodeid, uint64_t fh, uint64_t foffset, uint64_t len, uint64_t moffset,
                  bool write) {
        fuse_setupmapping_in in{};
        in.fh = fh;
        in.foffset = foffset;
        in.len = len;
        in.flags = FUSE_SETUPMAPPING_FLAG_READ | (write ? FUSE_SETUPMAPPING_FLAG_WRITE : 0);
        in.moffset = moffset;
        return error_of(
            call(as_user(fuse_request(FUSE_SETUPMAPPING, fe_->next_unique(), nodeid, in), 1000, 0),
                 sizeof(fuse_out_header)));
    }
    // REMOVEMAPPING of ranges; count_override claims another count than the array holds.
    int32_t remove(const std::vector<fuse_removemapping_one>& ranges,
                   std::optional<uint32_t> count_override = std::nullopt) {
        fuse_removemapping_in in{};
        in.count = count_override.value_or(static_cast<uint32_t>(ranges.size()));
        const std::string_view tail(reinterpret_cast<const char*>(ranges.data()),
                                    ranges.size() * sizeof(fuse_removemapping_one));
        auto r = fe_->request(1,
                              raw_request(FUSE_REMOVEMAPPING, fe_->next_unique(), FUSE_ROOT_ID, &in,
                                          sizeof(in), tail),
                              sizeof(fuse_out_header));
        EXPECT_TRUE(r) << daemon_.log();
        return r ? error_of(*r) : 1;
    }
    uint64_t frontend_maps() const { return fe_->dax_window()->counters().maps; }
    // The daemon still answers (GETATTR on the root).
    void expect_serving() {
        EXPECT_EQ(error_of(call(getattr_request(fe_->next_unique(), FUSE_ROOT_ID), 256)), 0)
            << daemon_.log();
        EXPECT_FALSE(fe_->queue(1).wait_error(0)) << "the queue broke\n" << daemon_.log();
    }

    std::string dir_, socket_, share_;
    QemuShmemRules rules_ = QemuShmemRules::kOn;  // the window refuses what QEMU 11.1.3 does
    bool report_shmem_ = true;  // the frontend reports mappings as memory, as QEMU 11.1
    bool mem_slots_ = true;     // ... with ADD_MEM_REG/REM_MEM_REG (else SET_MEM_TABLE)
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_F(Dax, InitAnnouncesMapAlignmentAndTheWindowIsSized) {
    start();
    ASSERT_NE(fe_->dax_window(), nullptr) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->size(), kWindow);
    const fuse_init_out out = init();
    EXPECT_TRUE(out.flags & FUSE_MAP_ALIGNMENT);
    EXPECT_EQ(out.map_alignment, 12);
}

TEST_F(Dax, MappingRoundTripWindowAndHostFileSeeEachOther) {
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t node = lookup("data");
    const uint64_t moff = 4 * kMiB, foff = 2 * kMiB;
    ASSERT_EQ(setup(node, kOwnFile, foff, kRange, moff, true), 0) << daemon_.log();
    EXPECT_EQ(frontend_maps(), 1u);
    ASSERT_TRUE(fe_->dax_window()->is_mapped(moff, kRange));
    volatile uint8_t* win = fe_->dax_window()->base() + moff;
    for (uint64_t i = 0; i < kRange; i += 4093)
        ASSERT_EQ(win[i], pattern(foff + i)) << i;

    // A guest store through the window is the host file's byte.
    const int fd = ::open((share_ + "/data").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    win[100] = 0xA5;
    uint8_t b = 0;
    ASSERT_EQ(::pread(fd, &b, 1, static_cast<off_t>(foff + 100)), 1);
    EXPECT_EQ(b, 0xA5);
    // And a host write is seen in the window at once.
    const uint8_t c = 0x5A;
    ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(foff + 4096)), 1);
    EXPECT_EQ(win[4096], 0x5A);
    ::close(fd);

    // A mapping over a live one replaces it (unmap, then map).
    ASSERT_EQ(setup(node, kOwnFile, 0, kRange, moff, false), 0) << daemon_.log();
    EXPECT_EQ(frontend_maps(), 2u);
    EXPECT_EQ(fe_->dax_window()->counters().unmaps, 1u);
    EXPECT_EQ(win[0], pattern(0));

    // An explicit fh of the node, open for reading: a read-only mapping.
    const uint64_t fh = open(node, O_RDONLY);
    ASSERT_EQ(setup(node, fh, 0, kRange, 0, false), 0) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->base()[7], pattern(7));

    ASSERT_EQ(remove({{moff, kRange}, {0, kRange}}), 0) << daemon_.log();
    const auto c2 = fe_->dax_window()->counters();
    EXPECT_EQ(c2.unmaps, 3u);
    EXPECT_EQ(c2.live, 0u);
    EXPECT_EQ(c2.refused, 0u);
    expect_serving();
    // The daemon's counters reach its log when the session's mappings go (a new INIT).
    init();
    EXPECT_NE(daemon_.log().find("SETUPMAPPING served 3"), std::string::npos) << daemon_.log();
}

TEST_F(Dax, HostileMappingsAreRefusedAndNoMapReachesTheFrontend) {
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    const uint64_t other = lookup("other");
    const uint64_t ro_fh = open(data, O_RDONLY);
    const uint64_t other_fh = open(other, O_RDWR);
    const uint64_t kAligned = ~0ull & ~4095ull;

    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, 4096 + 1, false), EINVAL);  // moffset
    EXPECT_EQ(setup(data, kOwnFile, 512, kRange, 0, false), EINVAL);       // foffset
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange - 100, 0, false), EINVAL);   // len
    EXPECT_EQ(setup(data, kOwnFile, 0, 0, 0, false), EINVAL);              // empty
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, kWindow, false), EINVAL);   // outside
    EXPECT_EQ(setup(data, kOwnFile, 0, 2 * kRange, kWindow - kRange, false), EINVAL);
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, kAligned, false), EINVAL);    // wraps
    EXPECT_EQ(setup(data, kOwnFile, kAligned, kRange, 0, false), EINVAL);    // foffset wraps
    EXPECT_EQ(setup(data, kOwnFile, 1ull << 63, kRange, 0, false), EINVAL);  // past off_t
    EXPECT_EQ(setup(FUSE_ROOT_ID, kOwnFile, 0, kRange, 0, false), EISDIR);   // a directory
    EXPECT_EQ(setup(lookup("dir"), kOwnFile, 0, kRange, 0, true), EISDIR);
    EXPECT_EQ(setup(data, 12345, 0, kRange, 0, false), EBADF);        // unknown fh
    EXPECT_EQ(setup(data, other_fh, 0, kRange, 0, false), EBADF);     // another node's
    EXPECT_EQ(setup(data, ro_fh, 0, kRange, 0, true), EBADF);         // ro fh, write
    EXPECT_EQ(setup(999999, kOwnFile, 0, kRange, 0, false), ENOENT);  // no such node
    EXPECT_EQ(remove({{0, kRange}}), ENOENT);                         // never mapped
    EXPECT_EQ(remove({{0, kRange}}, 2), EINVAL);  // a count larger than the payload
    EXPECT_EQ(remove({}, 0), EINVAL);             // nothing to remove
    EXPECT_EQ(frontend_maps(), 0u) << daemon_.log();
    EXPECT_EQ(fe_->backend_channel().recorded().size(), 0u);
    expect_serving();

    // A partly matching REMOVEMAPPING unmaps nothing.
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, true), 0) << daemon_.log();
    EXPECT_EQ(remove({{0, kRange}, {kRange, kRange}}), ENOENT);
    EXPECT_EQ(remove({{0, kRange / 2}}), ENOENT);
    EXPECT_EQ(fe_->dax_window()->counters().unmaps, 0u);
    EXPECT_TRUE(fe_->dax_window()->is_mapped(0, kRange));
    expect_serving();
}

TEST_F(Dax, ReadOnlyShareRefusesWriteMappingsWithErofs) {
    // A front-end that honours the read-only flag maps a read-only share's files.
    rules_ = QemuShmemRules::kOff;
    start({"--dax-window=16M", "--readonly"});
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, 0, true), EROFS);
    EXPECT_EQ(frontend_maps(), 0u);
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, 0, false), 0) << daemon_.log();
    EXPECT_EQ(frontend_maps(), 1u);
    EXPECT_EQ(fe_->dax_window()->base()[1], pattern(1));
    expect_serving();
}

// QEMU 11.1.3 maps every range read-write (dax_window.h): a read mapping must carry a fd
// open O_RDWR, whether the guest sent fh = -1 or a handle it opened read-only.
TEST_F(Dax, ReadMappingsCarryAReadWriteFdAsQemu1113MapsThemReadWrite) {
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, false), 0) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->base()[9], pattern(9));
    const uint64_t ro_fh = open(data, O_RDONLY);
    ASSERT_EQ(setup(data, ro_fh, kRange, kRange, kRange, false), 0) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->base()[kRange + 3], pattern(kRange + 3));
    // The read-only to read-write upgrade in place, as the unikernel and Linux do it.
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, true), 0) << daemon_.log();
    const auto c = fe_->dax_window()->counters();
    EXPECT_EQ(c.maps, 3u);
    EXPECT_EQ(c.refused, 0u);
    expect_serving();
}

// Where no write mapping would be granted, the read-only fd goes, and QEMU 11.1.3 refuses
// it: a read-only share, and a suid file (a store through the mapping would keep the bit).
TEST_F(Dax, ReadMappingsWithoutWriteAccessStayReadOnlyAndQemu1113RefusesThem) {
    start({"--dax-window=16M", "--readonly"});
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    EXPECT_EQ(setup(lookup("data"), kOwnFile, 0, kRange, 0, false), EIO) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->counters().refused, 1u);
    expect_serving();
}

TEST_F(Dax, ASuidFilesReadMappingKeepsTheReadOnlyFdAndTheBit) {
    start();
    ASSERT_EQ(::chmod((share_ + "/other").c_str(), 04755), 0);
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    EXPECT_EQ(setup(lookup("other"), kOwnFile, 0, kRange, 0, false), EIO) << daemon_.log();
    EXPECT_EQ(fe_->dax_window()->counters().refused, 1u);
    struct stat st {};
    ASSERT_EQ(::stat((share_ + "/other").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    expect_serving();
}

// QEMU 11.1.3 ftruncate()s an empty file to the mapping's end: the daemon never sends one.
// A range past a non-empty file's end is mapped only as far as the file reaches (QEMU
// 11.1.3 refuses more, see fuse/dax_coverage.h): the front-end refuses nothing.
TEST_F(Dax, AnEmptyFileIsNeverMappedAndARangePastTheEndIsMappedToTheEnd) {
    start();
    const std::string empty = share_ + "/empty";
    ::close(::open(empty.c_str(), O_CREAT | O_WRONLY, 0644));
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t node = lookup("empty");
    EXPECT_EQ(setup(node, kOwnFile, 0, kRange, 0, false), ENXIO);
    EXPECT_EQ(setup(node, kOwnFile, 0, kRange, 0, true), ENXIO);
    EXPECT_EQ(fe_->dax_window()->counters().refused, 0u);  // never sent
    EXPECT_EQ(std::filesystem::file_size(empty), 0u);
    EXPECT_EQ(setup(lookup("data"), kOwnFile, kFileBytes - kRange / 2, kRange, 0, false), 0);
    EXPECT_EQ(fe_->dax_window()->counters().refused, 0u);
    EXPECT_EQ(frontend_maps(), 1u);  // the file's last kRange / 2, a page multiple
    EXPECT_EQ(std::filesystem::file_size(share_ + "/data"), kFileBytes);
    expect_serving();
}

TEST_F(Dax, SetupMappingBeforeEveryRingRunsIsRefused) {
    start({"--dax-window=16M"}, true, /*all_rings=*/false);
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, 0, false), EIO);
    EXPECT_EQ(frontend_maps(), 0u);
    expect_serving();
    ASSERT_TRUE(fe_->reset_queue(0) && fe_->start_queue(0));
    EXPECT_EQ(setup(data, kOwnFile, 0, kRange, 0, false), 0) << daemon_.log();
    EXPECT_EQ(frontend_maps(), 1u);
}

TEST_F(Dax, WithoutAWindowNothingChanges) {
    start({}, true);
    EXPECT_EQ(fe_->dax_window(), nullptr);
    EXPECT_FALSE(fe_->negotiated().offered_protocol_features &
                 vfs::host::vhost_user::protocol_feature::kShmem);
    EXPECT_FALSE(init().flags & FUSE_MAP_ALIGNMENT);
    EXPECT_EQ(setup(lookup("data"), kOwnFile, 0, kRange, 0, false), ENOSYS);
    EXPECT_EQ(remove({{0, kRange}}), ENOSYS);
    EXPECT_EQ(fe_->backend_channel().recorded().size(), 0u);
    expect_serving();
}

TEST_F(Dax, FrontendWithoutShmemGetsNoMapAlignment) {
    start({"--dax-window=16M"}, /*shmem=*/false);
    EXPECT_FALSE(init().flags & FUSE_MAP_ALIGNMENT);
    EXPECT_EQ(setup(lookup("data"), kOwnFile, 0, kRange, 0, false), ENOSYS);
    EXPECT_EQ(fe_->backend_channel().recorded().size(), 0u);
    expect_serving();
}

TEST_F(Dax, RingStopDropsTheMappingsAndTheRangeIsReusable) {
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, true), 0) << daemon_.log();
    auto base = fe_->stop_queue(1);
    ASSERT_TRUE(base);
    ASSERT_TRUE(fe_->start_queue(1));
    // Forgotten by the daemon: removing it now is an error...
    EXPECT_EQ(remove({{0, kRange}}), ENOENT);
    // ...and the frontend's stale mapping is unmapped before the next map over it.
    EXPECT_EQ(setup(data, kOwnFile, kRange, kRange, 0, false), 0) << daemon_.log();
    const auto c = fe_->dax_window()->counters();
    EXPECT_EQ(c.maps, 2u);
    EXPECT_EQ(c.unmaps, 1u);
    EXPECT_EQ(c.refused, 0u);
    EXPECT_EQ(fe_->dax_window()->base()[5], pattern(kRange + 5));
    EXPECT_NE(daemon_.log().find("ring stopped"), std::string::npos);
}

// QEMU 11.1 reports each mapping as a memory region (ADD_MEM_REG) after it answered the
// map, and the daemon waits for that report before it answers SETUPMAPPING; so must
// tools/frontend, or every hosted run's first SETUPMAPPING waits the daemon's 500 ms.
TEST_F(Dax, EachMappingIsReportedAsMemoryAfterTheMapAndWithdrawnAfterTheUnmap) {
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 2 * kMiB, true), 0) << daemon_.log();
    ASSERT_EQ(setup(data, kOwnFile, kRange, kRange, 6 * kMiB, false), 0) << daemon_.log();
    // The report goes out after the map's reply, its counter moves at the backend's ack:
    // the daemon may answer SETUPMAPPING in between.
    const auto reports_reach = [&](uint64_t added, uint64_t removed) {
        for (int i = 0; i < 10000; ++i) {
            const auto c = fe_->shmem_reports();
            if (c.added >= added && c.removed >= removed) return;
            usleep(1000);
        }
    };
    reports_reach(2, 0);
    auto r = fe_->shmem_reports();
    EXPECT_EQ(r.added, 2u);
    EXPECT_EQ(r.live, 2u);
    EXPECT_EQ(r.failed, 0u);
    ASSERT_EQ(remove({{2 * kMiB, kRange}}), 0) << daemon_.log();
    reports_reach(2, 1);
    r = fe_->shmem_reports();
    EXPECT_EQ(r.removed, 1u);
    EXPECT_EQ(r.live, 1u);
    const std::string log = daemon_.log();
    // The region sits in the window's BAR (mmap_offset the file offset, not mapped by the
    // daemon), and the daemon never had to wait the report out.
    EXPECT_NE(log.find("memory region added: gpa 0x10000200000 size 0x200000"), std::string::npos)
        << log;
    EXPECT_NE(log.find("memory region removed: gpa 0x10000200000 size 0x200000"), std::string::npos)
        << log;
    EXPECT_EQ(log.find("did not report the mapping"), std::string::npos) << log;
    // The daemon still maps the window's neighbour: the reported region is no guest RAM.
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, false), 0) << daemon_.log();
    reports_reach(3, 1);
    EXPECT_EQ(fe_->shmem_reports().live, 2u);
    expect_serving();
}

// Without CONFIGURE_MEM_SLOTS QEMU sends the whole table again: RAM and the mappings.
TEST_F(Dax, WithoutMemSlotsEachMappingIsReportedInAWholeMemoryTable) {
    mem_slots_ = false;
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    ASSERT_EQ(setup(data, kOwnFile, 0, kRange, 0, true), 0) << daemon_.log();
    ASSERT_EQ(remove({{0, kRange}}), 0) << daemon_.log();
    for (int i = 0; i < 10000 && fe_->shmem_reports().removed < 1; ++i)
        usleep(1000);
    const auto r = fe_->shmem_reports();
    EXPECT_EQ(r.added, 1u);
    EXPECT_EQ(r.removed, 1u);
    EXPECT_EQ(r.failed, 0u);
    const std::string log = daemon_.log();
    EXPECT_NE(log.find("memory table received: 2 regions"), std::string::npos) << log;
    EXPECT_EQ(log.find("did not report the mapping"), std::string::npos) << log;
    expect_serving();
}

// A front-end that never reports (not QEMU) costs one bounded wait, logged, not one per map.
TEST_F(Dax, AFrontendThatNeverReportsCostsOneLoggedWaitNotOnePerMap) {
    report_shmem_ = false;
    start();
    ASSERT_TRUE(init().flags & FUSE_MAP_ALIGNMENT);
    const uint64_t data = lookup("data");
    for (uint64_t i = 0; i < 4; ++i)
        ASSERT_EQ(setup(data, kOwnFile, 0, kRange, i * kRange, false), 0) << daemon_.log();
    EXPECT_EQ(fe_->shmem_reports().added, 0u);
    const std::string log = daemon_.log();
    const auto first = log.find("did not report the mapping at 0x0 as memory");
    ASSERT_NE(first, std::string::npos) << log;
    EXPECT_EQ(log.find("did not report the mapping", first + 1), std::string::npos) << log;
    expect_serving();
}

}  // namespace
}  // namespace vfs::test
