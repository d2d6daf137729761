// virtiofsd-cxx across a device's life: status, RESET_DEVICE followed by a fresh start (as
// QEMU does on system_reset), memory hotplug with ADD_MEM_REG/REM_MEM_REG (a refused
// update answered with a failure ack, the device serving on), the virtio-fs
// config space with --tag, and a clean exit on SIGTERM.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cstdio>
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
namespace vu = vfs::host::vhost_user;
using namespace vfs::slowfs;

class Lifecycle : public ::testing::Test {
  protected:
    void start(std::vector<std::string> extra = {}) {
        dir_ = make_temp_dir("vfs-lifecycle");
        socket_ = dir_ + "/vhost.sock";
        std::filesystem::create_directory(dir_ + "/share");
        auto argv = backend_argv(BackendKind::kOurs, socket_, dir_ + "/share");
        argv.insert(argv.end(), extra.begin(), extra.end());
        ASSERT_TRUE(daemon_.spawn(argv, dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
    }
    // A front-end with options o; set_up: rings started and INIT done on queue 1.
    void connect(const FrontendOptions& o = {}, bool set_up = true) {
        auto f = Frontend::connect(socket_, o);
        ASSERT_TRUE(f);
        fe_ = std::move(*f);
        if (!set_up) return;
        ASSERT_TRUE(fe_->setup()) << daemon_.log();
        ASSERT_TRUE(fe_->fuse_init(1));
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }
    void expect_getattr(uint32_t q) {
        auto r = fe_->request(q, getattr_request(fe_->next_unique(), FUSE_ROOT_ID), 256);
        ASSERT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        ASSERT_GE(r->size(), sizeof(fuse_out_header));
    }

    std::string dir_, socket_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
};

TEST_F(Lifecycle, StatusThenResetDeviceThenRestart) {
    start();
    ASSERT_NO_FATAL_FAILURE(connect());
    auto& c = fe_->client();
    ASSERT_TRUE(c.send_obj(vu::Request::kSetStatus, uint64_t{0xf}));
    auto st = c.get_u64(vu::Request::kGetStatus);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st, 0xfu);

    // system_reset: stop the rings, reset the device, start it again from scratch.
    for (uint32_t q = 0; q < fe_->num_queues(); ++q)
        ASSERT_TRUE(fe_->stop_queue(q));
    ASSERT_TRUE(c.send(vu::Request::kResetDevice)) << daemon_.log();
    st = c.get_u64(vu::Request::kGetStatus);
    ASSERT_TRUE(st);
    EXPECT_EQ(*st, 0u);
    ASSERT_TRUE(c.send_obj(vu::Request::kSetFeatures, fe_->negotiated().features));
    ASSERT_TRUE(fe_->set_mem_table());
    for (uint32_t q = 0; q < fe_->num_queues(); ++q) {
        ASSERT_TRUE(fe_->reset_queue(q));
        ASSERT_TRUE(fe_->start_queue(q)) << daemon_.log();
    }
    expect_getattr(1);
}

TEST_F(Lifecycle, MemoryHotplugAddAndRemoveRegion) {
    start();
    ASSERT_NO_FATAL_FAILURE(connect());

    const uint64_t size = 2 << 20;
    const int fd = memfd_create("hotplug", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, size), 0);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ASSERT_NE(p, MAP_FAILED);
    vu::SingleMemoryRegion r;
    r.region = vu::MemoryRegion{1ull << 32, size, reinterpret_cast<uint64_t>(p), 0};
    ASSERT_TRUE(fe_->client().send_obj(vu::Request::kAddMemReg, r, &fd, 1)) << daemon_.log();
    expect_getattr(1);
    // Adding it twice overlaps: refused with a failure ack (the client's EIO).
    auto again = fe_->client().send_obj(vu::Request::kAddMemReg, r, &fd, 1);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), EIO);
    ASSERT_TRUE(fe_->client().send_obj(vu::Request::kRemMemReg, r)) << daemon_.log();
    expect_getattr(1);
    // It is gone: removing it again is refused, and the device serves on.
    auto gone = fe_->client().send_obj(vu::Request::kRemMemReg, r);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error(), EIO);
    expect_getattr(1);
    munmap(p, size);
    close(fd);
}

TEST_F(Lifecycle, TagIsServedThroughConfigSpace) {
    start({"--tag=myfs"});
    FrontendOptions o;
    o.ack_config = true;
    ASSERT_NO_FATAL_FAILURE(connect(o, /*set_up=*/false));
    ASSERT_TRUE(fe_->handshake()) << daemon_.log();
    ASSERT_TRUE(fe_->negotiated().protocol_features & vu::protocol_feature::kConfig);
    struct {
        vu::ConfigHeader h;
        virtio_fs_config cfg;
    } in{}, out{};
    static_assert(sizeof(in) == sizeof(vu::ConfigHeader) + sizeof(virtio_fs_config));
    in.h.size = sizeof(virtio_fs_config);
    ASSERT_TRUE(fe_->client().call(vu::Request::kGetConfig, &in, sizeof(in), &out, sizeof(out)))
        << daemon_.log();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.cfg.tag), 4), "myfs");
    EXPECT_EQ(out.cfg.tag[4], 0);
    EXPECT_GE(out.cfg.num_request_queues, 1u);
}

// A ring far larger than the daemon's per-queue slots (kMaxInFlightPerQueue, 256): 1024
// READs published before any is awaited, served on io_uring, so the worker runs out of
// slots, leaves chains in the ring and pops them as earlier reads complete. Every read
// must come back with its own data.
TEST_F(Lifecycle, LargeRingMoreRequestsInFlightThanSlots) {
    start();
    constexpr uint32_t kReads = 1024;
    constexpr uint32_t kChunk = 4096;
    {
        std::vector<uint8_t> data(size_t{kReads} * kChunk);
        for (size_t i = 0; i < data.size(); i += 8) {
            const uint64_t v = i;
            memcpy(&data[i], &v, 8);
        }
        FILE* fp = fopen((dir_ + "/share/data").c_str(), "wb");
        ASSERT_NE(fp, nullptr);
        ASSERT_EQ(fwrite(data.data(), 1, data.size(), fp), data.size());
        fclose(fp);
    }
    FrontendOptions o;
    o.queue_size = 4096;
    ASSERT_NO_FATAL_FAILURE(connect(o));

    auto call = [&](const std::vector<uint8_t>& req, size_t reply_cap) {
        return call_daemon(*fe_, daemon_, 1, req, static_cast<uint32_t>(reply_cap));
    };
    auto lr = call(lookup_request(fe_->next_unique(), FUSE_ROOT_ID, "data"),
                   sizeof(fuse_out_header) + sizeof(fuse_entry_out));
    ASSERT_EQ(lr.size(), sizeof(fuse_out_header) + sizeof(fuse_entry_out)) << daemon_.log();
    const auto entry = reply_body<fuse_entry_out>(lr);

    auto orr = call(open_request(fe_->next_unique(), entry.nodeid, O_RDONLY),
                    sizeof(fuse_out_header) + sizeof(fuse_open_out));
    ASSERT_EQ(orr.size(), sizeof(fuse_out_header) + sizeof(fuse_open_out)) << daemon_.log();
    const auto opened = reply_body<fuse_open_out>(orr);

    std::vector<Frontend::Ticket> tickets;
    for (uint32_t i = 0; i < kReads; ++i) {
        auto t = fe_->submit(
            1,
            read_request(fe_->next_unique(), entry.nodeid, opened.fh, uint64_t{i} * kChunk, kChunk),
            sizeof(fuse_out_header) + kChunk);
        ASSERT_TRUE(t) << i << ": " << strerror(t.error());
        tickets.push_back(*t);
    }
    for (uint32_t i = 0; i < kReads; ++i) {
        auto r = fe_->wait(tickets[i]);
        ASSERT_TRUE(r) << i << ": " << strerror(r.error()) << "\n" << daemon_.log();
        ASSERT_EQ(r->size(), sizeof(fuse_out_header) + kChunk) << i;
        for (uint32_t off = 0; off < kChunk; off += 8) {
            uint64_t v;
            memcpy(&v, r->data() + sizeof(fuse_out_header) + off, 8);
            ASSERT_EQ(v, uint64_t{i} * kChunk + off) << i;
        }
    }
    EXPECT_FALSE(fe_->queue(1).wait_error(0)) << "the queue broke\n" << daemon_.log();
}

TEST_F(Lifecycle, SigtermExitsCleanly) {
    start();
    ASSERT_NO_FATAL_FAILURE(connect());
    auto st = daemon_.terminate();
    ASSERT_TRUE(st.has_value()) << daemon_.log();
    ASSERT_TRUE(WIFEXITED(*st)) << daemon_.log();
    EXPECT_EQ(WEXITSTATUS(*st), 0) << daemon_.log();
}

}  // namespace
}  // namespace vfs::test
