// The daemon binary's dirty-page log, driven as QEMU drives it when a migration starts on
// running rings (tools/frontend: SET_LOG_BASE, SET_FEATURES with VHOST_F_LOG_ALL,
// SET_VRING_ADDR with VHOST_VRING_F_LOG): with LOG_ALL acked, the pages a READ's data and
// header went to and the used ring's page are marked, the rings' device-readable parts
// are not; with LOG_ALL cleared again, nothing is marked. Also with a thread pool, whose
// threads write metadata replies the worker then completes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "backends.h"
#include "daemon_process.h"
#include "frontend.h"
#include "raw_fuse.h"
#include "vfs/wire/virtqueue_layout.h"

namespace vfs::test {
namespace {

using vfs::frontend::DirtyBitmap;
using vfs::frontend::Frontend;
using vfs::frontend::FrontendOptions;
using vfs::frontend::GuestBuffer;
using namespace vfs::slowfs;

constexpr uint32_t kChunk = 64 * 1024;
constexpr uint64_t kPage = DirtyBitmap::kPage;

class DirtyLog : public ::testing::TestWithParam<std::vector<std::string>> {
  protected:
    void SetUp() override {
        dir_ = make_temp_dir("vfs-dirty-log");
        socket_ = dir_ + "/vhost.sock";
        std::filesystem::create_directory(dir_ + "/share");
        std::vector<uint8_t> data(kChunk);
        for (uint32_t i = 0; i < kChunk; ++i)
            data[i] = static_cast<uint8_t>(i * 7 + 3);
        FILE* fp = fopen((dir_ + "/share/data").c_str(), "wb");
        ASSERT_NE(fp, nullptr);
        ASSERT_EQ(fwrite(data.data(), 1, data.size(), fp), data.size());
        fclose(fp);
        auto argv = backend_argv(BackendKind::kOurs, socket_, dir_ + "/share");
        for (const auto& a : GetParam())
            argv.push_back(a);
        ASSERT_TRUE(daemon_.spawn(argv, dir_ + "/daemon.log"));
        ASSERT_TRUE(daemon_.wait_for_socket(socket_)) << daemon_.log();
        FrontendOptions o;
        o.num_queues = 2;
        o.log_shmfd = true;
        auto f = Frontend::connect(socket_, o);
        ASSERT_TRUE(f) << strerror(f.error());
        fe_ = std::move(*f);
        ASSERT_TRUE(fe_->setup()) << daemon_.log();
        ASSERT_TRUE(fe_->fuse_init(1)) << daemon_.log();
    }
    void TearDown() override {
        fe_.reset();
        daemon_.terminate();
        if (!dir_.empty()) std::filesystem::remove_all(dir_);
    }

    // Sends req on queue 1 and waits; returns the reply and where it was written.
    std::vector<uint8_t> call(const std::vector<uint8_t>& req, uint32_t reply_cap,
                              GuestBuffer* where = nullptr) {
        auto t = fe_->submit(1, req, reply_cap);
        EXPECT_TRUE(t) << strerror(t.error());
        if (!t) return {};
        auto b = fe_->reply_buffer(*t);
        EXPECT_TRUE(b);
        if (b && where) *where = *b;
        auto r = fe_->wait(*t);
        EXPECT_TRUE(r) << strerror(r.error()) << "\n" << daemon_.log();
        return r ? *r : std::vector<uint8_t>{};
    }
    void open_data() {
        auto lr = call(lookup_request(fe_->next_unique(), FUSE_ROOT_ID, "data"),
                       sizeof(fuse_out_header) + sizeof(fuse_entry_out));
        ASSERT_EQ(lr.size(), sizeof(fuse_out_header) + sizeof(fuse_entry_out)) << daemon_.log();
        node_ = reply_body<fuse_entry_out>(lr).nodeid;
        auto orr = call(open_request(fe_->next_unique(), node_, O_RDONLY),
                        sizeof(fuse_out_header) + sizeof(fuse_open_out));
        ASSERT_EQ(orr.size(), sizeof(fuse_out_header) + sizeof(fuse_open_out)) << daemon_.log();
        fh_ = reply_body<fuse_open_out>(orr).fh;
    }
    // READs the whole file; checks its bytes; returns where the reply went.
    GuestBuffer read_data() {
        GuestBuffer where;
        auto r = call(read_request(fe_->next_unique(), node_, fh_, 0, kChunk),
                      sizeof(fuse_out_header) + kChunk, &where);
        EXPECT_EQ(r.size(), sizeof(fuse_out_header) + kChunk) << daemon_.log();
        for (uint32_t i = 0; i < kChunk && sizeof(fuse_out_header) + i < r.size(); ++i)
            if (r[sizeof(fuse_out_header) + i] != static_cast<uint8_t>(i * 7 + 3)) {
                ADD_FAILURE() << "byte " << i << " of the READ is wrong";
                break;
            }
        return where;
    }
    GuestBuffer getattr() {
        GuestBuffer where;
        auto r = call(getattr_request(fe_->next_unique(), FUSE_ROOT_ID),
                      sizeof(fuse_out_header) + sizeof(fuse_attr_out), &where);
        EXPECT_EQ(r.size(), sizeof(fuse_out_header) + sizeof(fuse_attr_out)) << daemon_.log();
        return where;
    }
    // Pages [gpa, gpa + len) touches that the log does not have.
    uint64_t unmarked(uint64_t gpa, uint64_t len) {
        uint64_t n = 0;
        for (uint64_t p = gpa / kPage; p <= (gpa + len - 1) / kPage; ++p)
            n += fe_->dirty_log()->dirty(p * kPage) ? 0 : 1;
        return n;
    }

    std::string dir_, socket_;
    DaemonProcess daemon_;
    std::unique_ptr<Frontend> fe_;
    uint64_t node_ = 0, fh_ = 0;
};

TEST_P(DirtyLog, ReadDataAndUsedRingAreMarkedOnlyWhileLogAllIsAcked) {
    ASSERT_NO_FATAL_FAILURE(open_data());
    ASSERT_TRUE(fe_->negotiated().offered_features & vfs::host::vhost_user::feature::kLogAll);
    ASSERT_TRUE(fe_->start_dirty_log()) << daemon_.log();
    DirtyBitmap& log = *fe_->dirty_log();
    log.clear();

    const GuestBuffer data = read_data();
    const auto ring = fe_->queue(1).placement();
    const uint64_t reply_bytes = sizeof(fuse_out_header) + kChunk;
    EXPECT_EQ(unmarked(data.gpa, reply_bytes), 0u) << "a page the READ wrote is not marked";
    EXPECT_EQ(unmarked(ring.used, vfs::wire::used_ring_bytes(ring.size)), 0u)
        << "the used ring is not marked";
    // Only what the device wrote: not the descriptor tables or the available rings (it
    // reads them), nothing but the reply's pages and the used rings (each worker writes
    // its used ring's flags or avail_event whenever it goes to sleep).
    EXPECT_FALSE(log.dirty(ring.desc));
    EXPECT_FALSE(log.dirty(ring.avail));
    const auto hiprio = fe_->queue(0).placement();
    auto within = [](uint64_t page, uint64_t gpa, uint64_t len) {
        return page >= gpa / kPage && page <= (gpa + len - 1) / kPage;
    };
    for (uint64_t page : log.pages())
        EXPECT_TRUE(within(page, data.gpa, reply_bytes) ||
                    within(page, ring.used, vfs::wire::used_ring_bytes(ring.size)) ||
                    within(page, hiprio.used, vfs::wire::used_ring_bytes(hiprio.size)))
            << "page " << page << " marked, but nothing wrote it";

    // A metadata reply too (written by a pool thread with --thread-pool-size).
    log.clear();
    const GuestBuffer attr = getattr();
    EXPECT_EQ(unmarked(attr.gpa, sizeof(fuse_out_header) + sizeof(fuse_attr_out)), 0u);

    // LOG_ALL cleared (the migration ended or was cancelled): nothing is marked.
    ASSERT_TRUE(fe_->stop_dirty_log()) << daemon_.log();
    log.clear();
    const GuestBuffer data_after = read_data();
    const GuestBuffer attr_after = getattr();
    // (Only these pages: a worker that checked the flag just before the clear may still
    // mark its used ring once.)
    EXPECT_EQ(unmarked(data_after.gpa, reply_bytes), (reply_bytes + kPage - 1) / kPage)
        << "READ data marked with LOG_ALL off";
    EXPECT_FALSE(log.dirty(attr_after.gpa)) << "a reply marked with LOG_ALL off";
    EXPECT_FALSE(fe_->queue(1).wait_error(0)) << "the queue broke\n" << daemon_.log();
}

INSTANTIATE_TEST_SUITE_P(Daemon, DirtyLog,
                         ::testing::Values(std::vector<std::string>{},
                                           std::vector<std::string>{"--thread-pool-size=2"}),
                         [](const auto& info) {
                             return info.param.empty() ? std::string("Worker")
                                                       : std::string("ThreadPool");
                         });

}  // namespace
}  // namespace vfs::test
