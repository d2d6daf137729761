// The queue worker on its own: a real io_uring and thread, guest memory in a memfd, the
// driver side played with common/'s DriverQueue, and a test handler in place of the FUSE
// server. Covers kick fds that are not eventfds and the in-flight slot limit.
#include "queue/queue_worker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "vfs/wire/virtqueue_driver.h"

namespace vfs::host {
namespace {

using vfs::wire::DriverBuffer;
using vfs::wire::DriverQueue;
using vfs::wire::DriverSlot;

constexpr uint64_t kMem = 4 << 20;

bool readable_within(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

// Guest memory (gpa 0, one region), the rings at its start, and the eventfds.
class WorkerHarness {
  public:
    explicit WorkerHarness(uint32_t size, bool event_idx = true)
        : size_(size), event_idx_(event_idx), slots_(size) {
        UniqueFd mem(::memfd_create("queue-worker-test", MFD_CLOEXEC));
        EXPECT_TRUE(mem.valid());
        EXPECT_EQ(::ftruncate(mem.get(), kMem), 0);
        auto region = memory::map_region(memory::GuestRegion{0, kMem, 0x10000000, 0}, mem.get());
        EXPECT_TRUE(region);
        auto map = std::make_shared<const memory::MemoryMap>()->with_region(*region);
        EXPECT_TRUE(map);
        map_ = *map;
        memory_.set(map_);

        layout_ = vfs::wire::split_ring_layout(size);
        EXPECT_LE(layout_.total_bytes, kDataOffset);
        rings_.desc = reinterpret_cast<vring_desc*>(at(layout_.desc_offset));
        rings_.avail = reinterpret_cast<vring_avail*>(at(layout_.avail_offset));
        rings_.used = reinterpret_cast<vring_used*>(at(layout_.used_offset));
        EXPECT_TRUE(
            drv_.init(size, {rings_.desc, rings_.avail, rings_.used}, slots_.data(), event_idx)
                .ok());

        kick_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        call_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        err_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        call_notifier_.set(UniqueFd(::fcntl(call_.get(), F_DUPFD_CLOEXEC, 0)));
        err_notifier_.set(UniqueFd(::fcntl(err_.get(), F_DUPFD_CLOEXEC, 0)));
    }
    ~WorkerHarness() {
        if (worker_) worker_->stop();
    }

    uint8_t* at(uint64_t gpa) { return map_->translate_gpa(gpa, 1); }

    // Starts the worker with a dup of kick_fd (our eventfd unless a test passes another).
    void start(RequestHandler* handler, int kick_fd = -1, uint32_t rescan_ms = 0,
               unsigned pool_threads = 0, QueueWorker* share_with = nullptr) {
        QueueWorkerConfig c;
        c.queue_index = queue_index;
        c.base = base;
        c.share_thread_with = share_with;
        c.size = size_;
        c.rings = rings_;
        c.ring_memory = map_;
        c.event_idx = event_idx_;
        c.enabled = true;
        c.poll_us = poll_us;
        c.spin_ended_for_test = spin_ended;
        c.kick = UniqueFd(::fcntl(kick_fd < 0 ? kick_.get() : kick_fd, F_DUPFD_CLOEXEC, 0));
        c.call = &call_notifier_;
        c.err = &err_notifier_;
        c.memory = &memory_;
        c.handler = handler;
        c.lost_kick_rescan_ms = rescan_ms;  // 0 unless a test wants it: kicks must work
        c.stop_timeout_ms = stop_timeout_ms;
        c.thread_pool_size = pool_threads;
        auto w = QueueWorker::start(std::move(c));
        ASSERT_TRUE(w) << strerror(w.error());
        worker_ = std::move(*w);
    }

    void kick() {
        const uint64_t one = 1;
        ASSERT_EQ(::write(kick_.get(), &one, sizeof(one)), 8);
    }

    // Publishes one 8-byte request with an 8-byte reply buffer, and kicks.
    void submit_one() {
        DriverBuffer o{kDataOffset, 8}, r{kDataOffset + 8, 8};
        ASSERT_TRUE(drv_.add(&o, 1, &r, 1, 1).ok());
        drv_.publish();
        kick();
    }
    uint16_t used_idx() { return __atomic_load_n(&rings_.used->idx, __ATOMIC_ACQUIRE); }

    static constexpr uint64_t kDataOffset = 1 << 20;
    uint32_t queue_index = 1;
    uint16_t base = 0;  // where a restarted worker resumes (what stop() returned)
    uint32_t stop_timeout_ms = 5000;
    uint32_t poll_us = 0;              // --poll-us
    std::function<void()> spin_ended;  // QueueWorkerConfig::spin_ended_for_test
    uint32_t size_;
    bool event_idx_;
    std::vector<DriverSlot> slots_;
    std::shared_ptr<const memory::MemoryMap> map_;
    memory::MemoryHandle memory_;
    vfs::wire::SplitRingLayout layout_;
    vfs::wire::DeviceQueue::Rings rings_;
    DriverQueue drv_;
    UniqueFd kick_, call_, err_;
    EventNotifier call_notifier_, err_notifier_;
    std::unique_ptr<QueueWorker> worker_;
};

// A test handler serves every queue itself, so a test reads its counters after stop().
class TestHandler : public RequestHandler, public QueueHandler {
  public:
    std::unique_ptr<QueueHandler> start_queue(uint32_t, uint32_t slots) override {
        slot_count = slots;
        struct Forward final : QueueHandler {
            explicit Forward(QueueHandler& to) : to(to) {}
            void handle(QueueContext& ctx, RequestSlot& slot) override { to.handle(ctx, slot); }
            void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                                int32_t result) override {
                to.on_io_complete(ctx, slot, cookie, result);
            }
            uint32_t run_offloaded(RequestSlot& slot) override { return to.run_offloaded(slot); }
            QueueHandler& to;
        };
        return std::make_unique<Forward>(*this);
    }
    uint32_t slot_count = 0;  // what the worker gave start_queue
};

class NoRequests : public TestHandler {
  public:
    void handle(QueueContext& ctx, RequestSlot& slot) override { ctx.complete(slot, 0); }
};

// A kick fd that is a regular file reads 0 bytes at once, forever: re-arming on that spun
// the worker at 100% CPU. Anything but an 8-byte read breaks the queue instead.
TEST(QueueWorker, RegularFileAsKickBreaksTheQueue) {
    WorkerHarness h(16);
    NoRequests handler;
    UniqueFd file(::memfd_create("not-an-eventfd", MFD_CLOEXEC));
    ASSERT_TRUE(file.valid());
    h.start(&handler, file.get());
    EXPECT_TRUE(readable_within(h.err_.get(), 5000)) << "err eventfd not signalled";
    EXPECT_TRUE(h.worker_->broken());
}

// A short read (a pipe carrying 4 bytes) is not a kick either.
TEST(QueueWorker, ShortKickReadBreaksTheQueue) {
    WorkerHarness h(16);
    NoRequests handler;
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    h.start(&handler, rd.get());
    const uint32_t four = 1;
    ASSERT_EQ(::write(wr.get(), &four, sizeof(four)), 4);
    EXPECT_TRUE(readable_within(h.err_.get(), 5000)) << "err eventfd not signalled";
    EXPECT_TRUE(h.worker_->broken());
}

void echo_many(WorkerHarness& h, uint32_t n, bool kick = true);

// Holds every request until an fsync on the worker's I/O engine (always on the ring)
// completes, so requests stay in flight across loop turns; copies the 8-byte request
// into the reply.
class DeferredEcho : public TestHandler {
  public:
    DeferredEcho() : file_(::memfd_create("deferred-echo", MFD_CLOEXEC)) {}
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        if (slot.index >= slot_count) bad_index = true;
        if (++held > max_held) max_held = held;
        const IoOutcome o = ctx.io().fsync(
            slot, 7, DataFile(file_.get(), false, DataAccess::kSync, nullptr), false);
        if (!o.is_queued()) {
            if (o.result() != 0) bad_index = true;
            finish(ctx, slot);
        }
    }
    void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t cookie,
                        int32_t result) override {
        if (cookie != 7 || result != 0) bad_index = true;
        finish(ctx, slot);
    }
    // Touched only on the worker thread; read after stop() has joined it.
    uint32_t held = 0, max_held = 0;
    bool bad_index = false;

  private:
    UniqueFd file_;

    void finish(QueueContext& ctx, RequestSlot& slot) {
        --held;
        uint32_t written = 0;
        if (slot.chain.n_readable == 1 && slot.chain.n_writable == 1 &&
            slot.chain.readable()[0].len == 8 && slot.chain.writable()[0].len == 8) {
            memcpy(slot.chain.writable()[0].data, slot.chain.readable()[0].data, 8);
            written = 8;
        }
        ctx.complete(slot, written);
    }
};

// Publishes n requests at once (each an 8-byte token out, 8 bytes back) and waits for all.
// kick=false publishes without a kick, as a guest whose kick was lost.
void echo_many(WorkerHarness& h, uint32_t n, bool kick) {
    for (uint64_t i = 0; i < n; ++i) {
        const uint64_t out = WorkerHarness::kDataOffset + 16 * i, in = out + 8;
        const uint64_t token = i + 1;
        memcpy(h.at(out), &token, 8);
        DriverBuffer o{out, 8}, r{in, 8};
        ASSERT_TRUE(h.drv_.add(&o, 1, &r, 1, token).ok()) << i;
    }
    h.drv_.publish();
    if (h.drv_.kick_needed() && kick) h.kick();
    std::vector<bool> seen(n + 1, false);
    uint32_t done = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (done < n && std::chrono::steady_clock::now() < deadline) {
        auto c = h.drv_.reclaim();
        if (!c.ok()) {
            ASSERT_EQ(c.error(), EAGAIN);
            (void)readable_within(h.call_.get(), 10);
            uint64_t v;
            [[maybe_unused]] ssize_t r = ::read(h.call_.get(), &v, sizeof(v));
            continue;
        }
        ASSERT_GE(c->token, 1u);
        ASSERT_LE(c->token, n);
        ASSERT_FALSE(seen[c->token]);
        seen[c->token] = true;
        ASSERT_EQ(c->len, 8u);
        uint64_t echoed;
        memcpy(&echoed, h.at(WorkerHarness::kDataOffset + 16 * (c->token - 1) + 8), 8);
        EXPECT_EQ(echoed, c->token);
        ++done;
    }
    ASSERT_EQ(done, n) << "requests lost";
    EXPECT_FALSE(h.worker_->broken());
}

// An eventfd kick keeps the queue healthy across many kicks, and the next kick still
// gets its request served (the worker runs without the re-scan, so only kicks wake it).
TEST(QueueWorker, EventfdKicksKeepTheQueueServing) {
    WorkerHarness h(16);
    DeferredEcho handler;
    h.start(&handler);
    for (int i = 0; i < 100; ++i)
        h.kick();
    EXPECT_FALSE(readable_within(h.err_.get(), 200));
    EXPECT_FALSE(h.worker_->broken());
    echo_many(h, 3);
}

// A request published without its kick (the guest's fence was dropped and it read a stale
// avail_event) is still served: the sleeping worker re-scans the ring on its own. Without
// the re-scan this request waits forever.
TEST(QueueWorker, ARequestWhoseKickWasLostIsServed) {
    WorkerHarness h(16);
    DeferredEcho handler;
    h.start(&handler, -1, 20);
    echo_many(h, 1);  // the worker now sleeps with notifications enabled
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    echo_many(h, 2, /*kick=*/false);
}

// Slots are decoupled from the ring size: a ring of 2048 gets kMaxInFlightPerQueue slots,
// and 1024 chains published at once (more than the slots) all complete, the worker
// popping more as earlier ones finish.
TEST(QueueWorker, MoreRequestsThanSlotsAllComplete) {
    WorkerHarness h(2048);
    DeferredEcho handler;
    h.start(&handler);
    echo_many(h, 1024);
    h.worker_->stop();
    EXPECT_EQ(handler.slot_count, kMaxInFlightPerQueue);
    EXPECT_EQ(handler.max_held, kMaxInFlightPerQueue);  // the slots really ran out
    EXPECT_FALSE(handler.bad_index);
}

// The largest ring the spec allows still gets only kMaxInFlightPerQueue slots; a small ring
// gets one per entry.
TEST(QueueWorker, SlotCountIsMinOfRingSizeAndLimit) {
    for (uint32_t size : {16u, 256u, 32768u}) {
        WorkerHarness h(size);
        DeferredEcho handler;
        h.start(&handler);
        echo_many(h, 4);
        h.worker_->stop();
        EXPECT_EQ(handler.slot_count, std::min(size, kMaxInFlightPerQueue)) << size;
    }
}

// ---- stop() is bounded (issue 13, finding 11) -----------------------------------------

// Never completes a request: in flight for good, as one stuck in I/O that no cancel ends.
// Echoes at once, recording for each request whether the worker said others wait: the
// engine copies a large buffered WRITE inline only when none do (io_engine.h).
class RecordsOthersWaiting : public TestHandler {
  public:
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        seen.push_back(ctx.others_waiting());
        memcpy(slot.chain.writable()[0].data, slot.chain.readable()[0].data, 8);
        ctx.complete(slot, 8);
    }
    std::vector<bool> seen;  // the worker thread's until stop()
};

// A request alone on the queue sees nobody waiting; of three published at once, the first
// two see the ones behind them in the ring, the last none.
TEST(QueueWorker, OthersWaitingCountsTheRingBehindARequest) {
    WorkerHarness h(16);
    RecordsOthersWaiting handler;
    h.start(&handler);
    echo_many(h, 1);
    echo_many(h, 3);
    h.worker_->stop();
    EXPECT_EQ(handler.seen, (std::vector<bool>{false, true, true, false}));
}

class NeverCompletes : public TestHandler {
  public:
    void handle(QueueContext&, RequestSlot&) override { handled.store(true); }
    std::atomic<bool> handled{false};
};

bool wait_for(const std::atomic<bool>& flag, int timeout_ms) {
    for (int i = 0; i < timeout_ms && !flag.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return flag.load();
}

int64_t ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
}

// stop() waited forever for a request that never ends; now it gives up within its bound,
// and the request is left unanswered (no used entry).
TEST(QueueWorkerStop, GivesUpOnARequestThatNeverEnds) {
    WorkerHarness h(16);
    h.stop_timeout_ms = 500;
    NeverCompletes handler;
    h.start(&handler);
    h.submit_one();
    ASSERT_TRUE(wait_for(handler.handled, 5000));
    const auto t0 = std::chrono::steady_clock::now();
    const uint16_t next = h.worker_->stop();
    EXPECT_LT(ms_since(t0), 3000);
    EXPECT_EQ(next, 1u);  // the popped chain is not popped again
    EXPECT_FALSE(h.worker_->abandoned());
    EXPECT_EQ(h.used_idx(), 0u);
    h.worker_.reset();
}

// A data operation stuck on the ring (a read of a pipe nobody writes) is cancelled when the
// queue stops, and its request is answered with the cancellation's error.
class StuckPipeRead : public TestHandler {
  public:
    StuckPipeRead() {
        int p[2];
        EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
        rd_.reset(p[0]);
        wr_.reset(p[1]);
    }
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        ctx.io().iovecs(slot)[0] = {slot.chain.writable()[0].data, slot.chain.writable()[0].len};
        // direct: straight to the ring, where it waits for data that never comes.
        const IoOutcome o =
            ctx.io().read(slot, 9, DataFile(rd_.get(), true, DataAccess::kRead, nullptr), 0, 1);
        queued = o.is_queued();
        if (!queued) ctx.complete(slot, 0);
    }
    void on_io_complete(QueueContext& ctx, RequestSlot& slot, uint32_t, int32_t r) override {
        result = r;
        ctx.complete(slot, 0);
    }
    bool queued = false;
    int32_t result = 1;

  private:
    UniqueFd rd_, wr_;
};

TEST(QueueWorkerStop, CancelsARingOperationThatWouldNeverEnd) {
    WorkerHarness h(16);
    h.stop_timeout_ms = 1000;
    StuckPipeRead handler;
    h.start(&handler);
    h.submit_one();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto t0 = std::chrono::steady_clock::now();
    h.worker_->stop();
    EXPECT_LT(ms_since(t0), 3000);
    EXPECT_TRUE(handler.queued);
    EXPECT_EQ(handler.result, -ECANCELED);
    EXPECT_EQ(h.used_idx(), 1u);  // answered
    h.worker_.reset();
}

// The worker thread itself stuck in a syscall (a blocking read here): stop() returns at its
// bound with the worker abandoned; when the thread comes back it publishes nothing.
class BlocksInASyscall : public TestHandler {
  public:
    BlocksInASyscall() : release(::eventfd(0, EFD_CLOEXEC)) {}
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        entered.store(true);
        uint64_t v;
        [[maybe_unused]] ssize_t n = ::read(release.get(), &v, sizeof(v));
        ctx.complete(slot, 0);
    }
    UniqueFd release;
    std::atomic<bool> entered{false};
};

TEST(QueueWorkerStop, AbandonsAWorkerStuckInASyscall) {
    WorkerHarness h(16);
    h.stop_timeout_ms = 300;
    BlocksInASyscall handler;
    h.start(&handler);
    h.submit_one();
    ASSERT_TRUE(wait_for(handler.entered, 5000));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(h.worker_->stop(), 1u);
    EXPECT_LT(ms_since(t0), 3000);
    ASSERT_TRUE(h.worker_->abandoned());
    EXPECT_FALSE(h.worker_->finished());

    const uint64_t one = 1;
    ASSERT_EQ(::write(handler.release.get(), &one, sizeof(one)), 8);
    for (int i = 0; i < 5000 && !h.worker_->finished(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(h.worker_->finished());
    EXPECT_EQ(h.used_idx(), 0u);  // the late completion never reached the ring
    h.worker_.reset();            // finished: safe to free
}

// Offloads every request to the queue's pool, where the one whose token is 1 waits until
// the test opens the gate; the others echo at once.
class PooledEcho : public TestHandler {
  public:
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        if (!ctx.can_offload()) {
            no_pool = true;
            ctx.complete(slot, run_offloaded(slot));
            return;
        }
        ctx.offload(slot);
    }
    uint32_t run_offloaded(RequestSlot& slot) override {
        if (slot.chain.n_readable != 1 || slot.chain.n_writable != 1) return 0;
        uint64_t token;
        memcpy(&token, slot.chain.readable()[0].data, 8);
        if (token == 1) {
            std::unique_lock<std::mutex> lock(mu_);
            if (!cv_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; })) return 0;
            finished_slow = true;
        }
        memcpy(slot.chain.writable()[0].data, &token, 8);
        return 8;
    }
    void open() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool no_pool = false;
    std::atomic<bool> finished_slow{false};

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
};

void publish_tokens(WorkerHarness& h, uint64_t first, uint64_t n) {
    for (uint64_t t = first; t < first + n; ++t) {
        const uint64_t out = WorkerHarness::kDataOffset + 16 * (t - 1), in = out + 8;
        memcpy(h.at(out), &t, 8);
        DriverBuffer o{out, 8}, r{in, 8};
        ASSERT_TRUE(h.drv_.add(&o, 1, &r, 1, t).ok()) << t;
    }
    h.drv_.publish();
    if (h.drv_.kick_needed()) h.kick();
}

// Reclaims used entries for up to timeout_ms; returns their tokens in completion order.
std::vector<uint64_t> reclaim_for(WorkerHarness& h, size_t want, int timeout_ms) {
    std::vector<uint64_t> tokens;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (tokens.size() < want && std::chrono::steady_clock::now() < deadline) {
        auto c = h.drv_.reclaim();
        if (!c.ok()) {
            (void)readable_within(h.call_.get(), 10);
            uint64_t v;
            [[maybe_unused]] ssize_t r = ::read(h.call_.get(), &v, sizeof(v));
            continue;
        }
        EXPECT_EQ(c->len, 8u);
        tokens.push_back(c->token);
    }
    return tokens;
}

// With a pool, a request blocked on a pool thread holds up none published after it: they
// complete first (out of order), and the blocked one completes once it can.
TEST(QueueWorker, WithAPoolABlockedRequestHoldsUpNoOther) {
    WorkerHarness h(16);
    PooledEcho handler;
    h.start(&handler, -1, 0, /*pool_threads=*/2);
    publish_tokens(h, 1, 5);
    auto first = reclaim_for(h, 4, 10000);
    ASSERT_EQ(first.size(), 4u);
    for (uint64_t t : first)
        EXPECT_NE(t, 1u);
    handler.open();
    auto last = reclaim_for(h, 1, 10000);
    ASSERT_EQ(last.size(), 1u);
    EXPECT_EQ(last[0], 1u);
    EXPECT_FALSE(handler.no_pool);
}

// stop() (GET_VRING_BASE, a device reset) waits for the request still on the pool and
// publishes its used entry before it returns.
TEST(QueueWorker, StopWaitsForRequestsOnThePool) {
    WorkerHarness h(16);
    PooledEcho handler;
    h.start(&handler, -1, 0, /*pool_threads=*/1);
    publish_tokens(h, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // on the pool by now
    std::thread opener([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        handler.open();
    });
    const uint16_t next = h.worker_->stop();
    EXPECT_TRUE(handler.finished_slow.load()) << "stop returned with a request in the pool";
    EXPECT_EQ(next, 1u);
    opener.join();
    auto used = reclaim_for(h, 1, 1000);
    ASSERT_EQ(used.size(), 1u);
    EXPECT_EQ(used[0], 1u);
}

// A request stuck on a pool thread past the stop's bound (a hung mount): stop() still
// returns at its bound, with the worker abandoned, not freed; the pool's destructor would
// otherwise wait for the job without bound and GET_VRING_BASE would never be answered.
TEST(QueueWorkerStop, AbandonsAWorkerWhosePoolJobIsStuck) {
    WorkerHarness h(16);
    h.stop_timeout_ms = 300;
    PooledEcho handler;
    h.start(&handler, -1, 0, /*pool_threads=*/1);
    publish_tokens(h, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // on the pool by now
    EXPECT_EQ(h.worker_->stop(), 1u);
    ASSERT_TRUE(h.worker_->abandoned()) << "the stuck pool job was not given up on";
    EXPECT_FALSE(h.worker_->finished()) << "freeable while its job still runs in it";
    handler.open();
    for (int i = 0; i < 5000 && !h.worker_->finished(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(h.worker_->finished());
    EXPECT_TRUE(handler.finished_slow.load());
    EXPECT_EQ(h.used_idx(), 0u);  // the late completion never reached the ring
    h.worker_.reset();
}

// Without a pool (--thread-pool-size=0) the handler is told so and serves inline.
TEST(QueueWorker, NoPoolByDefault) {
    WorkerHarness h(16);
    PooledEcho handler;
    h.start(&handler);
    publish_tokens(h, 2, 1);
    EXPECT_EQ(reclaim_for(h, 1, 10000).size(), 1u);
    h.worker_->stop();
    EXPECT_TRUE(handler.no_pool);
}

// ---- two queues on one thread (issue 14: the hiprio queue on the request queue's) ------

// The high-priority queue (0) and a request queue (1), each with its own guest memory and
// eventfds, served by one thread: the request queue's, which the hiprio worker joins, as
// the device has them. No re-scan: a kick the shared wait misses is a request never served.
struct SharedPair {
    SharedPair() { hiprio.queue_index = 0; }
    void start(RequestHandler* request_handler, RequestHandler* hiprio_handler) {
        request.start(request_handler);
        if (::testing::Test::HasFatalFailure()) return;
        start_hiprio(hiprio_handler);
    }
    void start_hiprio(RequestHandler* handler) {
        hiprio.start(handler, -1, 0, 0, request.worker_.get());
    }
    const QueueThread* thread() { return request.worker_->thread(); }
    WorkerHarness request{16}, hiprio{16};
};

TEST(SharedQueueThread, TheHiprioWorkerJoinsTheRequestWorkersThread) {
    SharedPair p;
    NoRequests handler;
    p.start(&handler, &handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_EQ(p.hiprio.worker_->thread(), p.thread());
    EXPECT_EQ(p.thread()->workers(), 2u);
}

// Requests alternate between the queues, one in flight at a time (a LOOKUP, then its
// FORGET), then go to both at once; every one needs its kick, and each is held on its
// worker's ring (an fsync) so both rings' fds are in the one wait too.
TEST(SharedQueueThread, AKickOnEitherQueueIsServed) {
    SharedPair p;
    DeferredEcho request_handler, hiprio_handler;
    p.start(&request_handler, &hiprio_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    for (int i = 0; i < 200 && !::testing::Test::HasFailure(); ++i) {
        echo_many(p.request, 1);
        echo_many(p.hiprio, 1);
    }
    for (uint64_t round = 0; round < 50 && !::testing::Test::HasFailure(); ++round) {
        publish_tokens(p.request, 1 + 3 * round, 3);
        publish_tokens(p.hiprio, 1 + 2 * round, 2);
        EXPECT_EQ(reclaim_for(p.hiprio, 2, 10000).size(), 2u) << "hiprio kick lost";
        EXPECT_EQ(reclaim_for(p.request, 3, 10000).size(), 3u) << "request kick lost";
    }
    EXPECT_FALSE(p.hiprio.worker_->broken());
    EXPECT_FALSE(p.request.worker_->broken());
}

// The hiprio kick comes while the thread is busy serving the request queue (blocked in a
// request), not asleep in the wait: it is still seen once the thread gets there.
TEST(SharedQueueThread, AHiprioKickWhileTheThreadIsBusyIsServed) {
    SharedPair p;
    PooledEcho request_handler;  // without a pool: token 1 blocks the thread until open()
    DeferredEcho hiprio_handler;
    p.start(&request_handler, &hiprio_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    publish_tokens(p.request, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread is blocked
    publish_tokens(p.hiprio, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(p.hiprio.used_idx(), 0u);  // one thread: nothing served while it is blocked
    request_handler.open();
    EXPECT_EQ(reclaim_for(p.request, 1, 10000).size(), 1u);
    EXPECT_EQ(reclaim_for(p.hiprio, 1, 10000).size(), 1u) << "the hiprio kick was lost";
    EXPECT_TRUE(request_handler.no_pool);
}

// With its slots spent the request worker leaves chains in the ring, kicks off, and pops
// them as its ring operations complete, though nothing on its partner's side fires.
TEST(SharedQueueThread, MoreRequestsThanSlotsAllCompleteBesideAPartner) {
    WorkerHarness request(2048), hiprio(16);
    hiprio.queue_index = 0;
    DeferredEcho request_handler, hiprio_handler;
    request.start(&request_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    hiprio.start(&hiprio_handler, -1, 0, 0, request.worker_.get());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(hiprio, 1);
    echo_many(request, 1024);
    echo_many(hiprio, 1);
    request.worker_->stop();
    EXPECT_EQ(request_handler.max_held, kMaxInFlightPerQueue);  // the slots really ran out
}

// A hiprio request whose kick was lost is found by a re-scan even while the request
// queue's traffic keeps waking the thread, so the wait never times out: one in 64 turns
// scans every worker.
// Echoes each 8-byte request inside handle(): nothing on the ring, so only kicks wake the
// thread.
class InlineEcho : public TestHandler {
  public:
    void handle(QueueContext& ctx, RequestSlot& slot) override {
        uint32_t written = 0;
        if (slot.chain.n_readable == 1 && slot.chain.n_writable == 1 &&
            slot.chain.readable()[0].len == 8 && slot.chain.writable()[0].len == 8) {
            memcpy(slot.chain.writable()[0].data, slot.chain.readable()[0].data, 8);
            written = 8;
        }
        ctx.complete(slot, written);
    }
};

// Publishes request `token` without kicking; returns whether the driver was asked to kick.
bool publish_unkicked(WorkerHarness& h, uint64_t token) {
    const uint64_t out = WorkerHarness::kDataOffset + 16 * ((token - 1) % 32), in = out + 8;
    memcpy(h.at(out), &token, 8);
    DriverBuffer o{out, 8}, r{in, 8};
    EXPECT_TRUE(h.drv_.add(&o, 1, &r, 1, token).ok()) << token;
    h.drv_.publish();
    return h.drv_.kick_needed();
}

TEST(SharedQueueThread, ALostHiprioKickIsFoundWhileThePartnerIsBusy) {
    SharedPair p;
    InlineEcho request_handler, hiprio_handler;
    p.request.start(&request_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    p.hiprio.start(&hiprio_handler, -1, /*rescan_ms=*/60000, 0, p.request.worker_.get());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(p.hiprio, 1);  // its notifications are on; the next request goes unkicked
    (void)publish_unkicked(p.hiprio, 2);
    for (int i = 0; i < 2000 && p.hiprio.used_idx() != 2 && !::testing::Test::HasFailure(); ++i)
        echo_many(p.request, 1);
    EXPECT_EQ(p.hiprio.used_idx(), 2u) << "the unkicked hiprio request was never scanned for";
}

// A request ring the guest keeps full does not starve the hiprio queue on the same thread:
// a turn pops at most kMaxPopsPerTurn requests, then the partner gets its turn. Token 1
// holds the thread until the rest of the request ring and the hiprio request are published,
// so one turn finds them all; the handler records, per request, whether the hiprio reply
// was out yet. Without the bound the turn serves all 1000 before the FORGET.
class RecordsHiprioProgress : public PooledEcho {
  public:
    explicit RecordsHiprioProgress(WorkerHarness& hiprio) : hiprio_(hiprio) {}
    uint32_t run_offloaded(RequestSlot& slot) override {
        const uint32_t n = PooledEcho::run_offloaded(slot);
        uint64_t token = 0;
        memcpy(&token, slot.chain.readable()[0].data, 8);
        if (token == kLast) hiprio_done_at_last = hiprio_.used_idx();
        return n;
    }
    // More than two turns' worth (the hiprio kick is seen after the first, served after the
    // second); two descriptors each: 2000 of the ring's 2048.
    static constexpr uint64_t kLast = 1000;
    std::atomic<uint16_t> hiprio_done_at_last{0xffff};

  private:
    WorkerHarness& hiprio_;
};

TEST(SharedQueueThread, AFullRequestRingDoesNotStarveTheHiprioQueue) {
    static_assert(RecordsHiprioProgress::kLast > 2 * kMaxPopsPerTurn);
    WorkerHarness request(2048), hiprio(16);
    hiprio.queue_index = 0;
    RecordsHiprioProgress request_handler(hiprio);  // no pool: served on the thread
    InlineEcho hiprio_handler;
    request.start(&request_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    hiprio.start(&hiprio_handler, -1, 0, 0, request.worker_.get());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    publish_tokens(request, 1, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread holds token 1
    publish_tokens(request, 2, RecordsHiprioProgress::kLast - 1);
    publish_tokens(hiprio, 1, 1);
    request_handler.open();
    EXPECT_EQ(reclaim_for(hiprio, 1, 10000).size(), 1u);
    EXPECT_EQ(reclaim_for(request, RecordsHiprioProgress::kLast, 20000).size(),
              RecordsHiprioProgress::kLast);
    EXPECT_EQ(request_handler.hiprio_done_at_last.load(), 1u)
        << "the hiprio request waited for the whole request ring";
    EXPECT_TRUE(request_handler.no_pool);
}

// GET_VRING_BASE on one queue stops that queue only: its partner keeps being served, and
// a queue started again joins the partner's thread. The last stop ends the thread.
TEST(SharedQueueThread, StoppingOneQueueLeavesThePartnerServed) {
    SharedPair p;
    DeferredEcho request_handler, hiprio_handler;
    p.start(&request_handler, &hiprio_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(p.hiprio, 2);
    echo_many(p.request, 2);
    const QueueThread* shared = p.thread();

    EXPECT_EQ(p.hiprio.worker_->stop(), 2u);
    EXPECT_FALSE(p.hiprio.worker_->abandoned());
    EXPECT_EQ(shared->workers(), 1u);
    const uint16_t hiprio_used = p.hiprio.used_idx();
    echo_many(p.request, 3);          // still served
    publish_tokens(p.hiprio, 10, 1);  // a stopped queue pops nothing, whatever its kick
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(p.hiprio.used_idx(), hiprio_used);

    p.hiprio.base = 2;
    p.hiprio.worker_.reset();
    p.start_hiprio(&hiprio_handler);  // rejoins, and serves what waited meanwhile
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_EQ(p.hiprio.worker_->thread(), shared);
    EXPECT_EQ(reclaim_for(p.hiprio, 1, 10000).size(), 1u);

    EXPECT_EQ(p.request.worker_->stop(), 5u);
    EXPECT_EQ(shared->workers(), 1u);
    echo_many(p.hiprio, 2);  // the hiprio queue alone, on the thread it joined
    EXPECT_EQ(p.hiprio.worker_->stop(), 5u);
    EXPECT_EQ(shared->workers(), 0u);  // ended, and joined by that stop
    EXPECT_FALSE(request_handler.bad_index || hiprio_handler.bad_index);
}

// A request that never ends on the partner does not hold up the stop of the other queue.
TEST(SharedQueueThread, AStopDoesNotWaitForThePartnersRequests) {
    SharedPair p;
    NeverCompletes request_handler;
    DeferredEcho hiprio_handler;
    p.request.stop_timeout_ms = 500;
    p.start(&request_handler, &hiprio_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    p.request.submit_one();
    ASSERT_TRUE(wait_for(request_handler.handled, 5000));
    echo_many(p.hiprio, 1);
    EXPECT_EQ(p.hiprio.worker_->stop(), 1u);
    EXPECT_FALSE(p.hiprio.worker_->abandoned());
    EXPECT_TRUE(p.hiprio.worker_->finished());
    EXPECT_EQ(p.request.worker_->stop(), 1u);  // gives up on its own request, at its bound
    EXPECT_FALSE(p.request.worker_->abandoned());
}

// The shared thread stuck in a syscall for the request queue, a hiprio request (token 2)
// waiting behind it, and the hiprio queue's stop given up at its 300 ms bound (abandoned).
struct StuckPartner {
    SharedPair p;
    BlocksInASyscall request_handler;
    DeferredEcho hiprio_handler;

    void stick() {
        p.hiprio.stop_timeout_ms = 300;
        p.start(&request_handler, &hiprio_handler);
        ASSERT_FALSE(::testing::Test::HasFatalFailure());
        echo_many(p.hiprio, 1);
        p.request.submit_one();
        ASSERT_TRUE(wait_for(request_handler.entered, 5000));
        publish_tokens(p.hiprio, 2, 1);  // waits behind the stuck request
        EXPECT_EQ(p.hiprio.worker_->stop(), 1u);
        ASSERT_TRUE(p.hiprio.worker_->abandoned());
    }
    // The stuck call returns; waits until the abandoned worker is let go.
    void unstick(const QueueWorker& abandoned) {
        const uint64_t one = 1;
        ASSERT_EQ(::write(request_handler.release.get(), &one, sizeof(one)), 8);
        for (int i = 0; i < 5000 && !abandoned.finished(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ASSERT_TRUE(abandoned.finished());
    }
};

// The shared thread stuck in a syscall for the request queue: the hiprio queue's stop
// gives up at its bound (abandoned); once the thread is back it lets the hiprio worker go
// without touching its ring, and the request queue goes on serving.
TEST(SharedQueueThread, AThreadStuckForThePartnerAbandonsTheStoppedWorker) {
    StuckPartner s;
    ASSERT_NO_FATAL_FAILURE(s.stick());
    SharedPair& p = s.p;
    EXPECT_FALSE(p.hiprio.worker_->finished());

    ASSERT_NO_FATAL_FAILURE(s.unstick(*p.hiprio.worker_));
    EXPECT_EQ(p.hiprio.used_idx(), 1u);  // the request published after the stop: never served
    p.hiprio.worker_.reset();            // finished: safe to free
    for (int i = 0; i < 5000 && p.request.used_idx() != 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(p.request.used_idx(), 1u);  // the request queue still served
    EXPECT_EQ(p.thread()->workers(), 1u);
}

// A queue restarted (SET_VRING_KICK, or GET_VRING_BASE and start again) while its old
// worker's thread is still stuck in the partner's call gets a thread of its own: joining
// the stuck one would leave the restarted queue unserved for as long as that call lasts.
// The partner's stop, after one stop gave up on that thread, does not wait the whole bound.
TEST(SharedQueueThread, ARestartedQueueDoesNotJoinAStuckThread) {
    StuckPartner s;
    DeferredEcho restarted_handler;
    ASSERT_NO_FATAL_FAILURE(s.stick());
    SharedPair& p = s.p;
    std::unique_ptr<QueueWorker> old = std::move(p.hiprio.worker_);

    p.hiprio.base = 1;
    p.start_hiprio(&restarted_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_NE(p.hiprio.worker_->thread(), p.thread());
    const auto tokens = reclaim_for(p.hiprio, 1, 10000);
    ASSERT_EQ(tokens.size(), 1u) << "the restarted queue was not served beside a stuck thread";
    EXPECT_EQ(tokens[0], 2u);

    ASSERT_NO_FATAL_FAILURE(s.unstick(*old));
    old.reset();
    for (int i = 0; i < 5000 && p.request.used_idx() != 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(p.request.used_idx(), 1u);
}

// A hiprio request whose kick was lost is found within its own re-scan time even while the
// partner wakes the thread more often than that (so the wait never times out) and fewer
// than 64 times (so the turn rule does not reach it). Before each worker had its own
// re-scan clock, it waited for the 64th turn: minutes, if the partner kept coming slowly.
TEST(SharedQueueThread, ALostHiprioKickIsFoundInItsRescanTimeWhileThePartnerIsBusy) {
    SharedPair p;
    InlineEcho request_handler, hiprio_handler;
    p.request.start(&request_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    p.hiprio.start(&hiprio_handler, -1, /*rescan_ms=*/30, 0, p.request.worker_.get());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(p.hiprio, 1);  // its notifications are on; the next request goes unkicked
    (void)publish_unkicked(p.hiprio, 2);
    // 20 partner requests 10 ms apart: 200 ms, well past the 30 ms re-scan, in fewer than
    // 64 turns, each wake-up sooner than the wait's 30 ms timeout.
    for (int i = 0; i < 20 && !::testing::Test::HasFailure(); ++i) {
        echo_many(p.request, 1);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(p.hiprio.used_idx(), 2u) << "the unkicked hiprio request waited for the turn rule";
}

// ---- --poll-us: the thread spins on its rings before it sleeps ----------------------------

constexpr uint32_t kSpinForever = 60u * 1000 * 1000;  // 60 s: never over within a test

uint16_t avail_event(WorkerHarness& h) {
    return __atomic_load_n(vfs::wire::avail_event_word(h.rings_.used, h.size_), __ATOMIC_ACQUIRE);
}
uint16_t used_flags(WorkerHarness& h) {
    return __atomic_load_n(&h.rings_.used->flags, __ATOMIC_ACQUIRE);
}
// Whether the device has its kicks off as a spin leaves them, `popped` chains in.
bool kicks_suppressed(WorkerHarness& h, uint16_t popped) {
    return h.event_idx_ ? avail_event(h) == uint16_t(popped - 1)
                        : (used_flags(h) & VRING_USED_F_NO_NOTIFY) != 0;
}
// ... and back on, as the thread leaves them before it sleeps.
bool kicks_enabled(WorkerHarness& h, uint16_t popped) {
    return h.event_idx_ ? avail_event(h) == popped : (used_flags(h) & VRING_USED_F_NO_NOTIFY) == 0;
}
bool eventually(const std::function<bool()>& f) {
    for (int i = 0; i < 5000; ++i) {
        if (f()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

class QueueSpin : public ::testing::TestWithParam<bool> {};  // EVENT_IDX or not

// While the thread spins, the guest is told not to kick (avail_event kept behind, or
// NO_NOTIFY), and requests it publishes without a kick are served. Nothing but the spin
// can serve them: no re-scan, no kick.
TEST_P(QueueSpin, KicksAreOffWhileSpinningAndUnkickedRequestsAreServed) {
    WorkerHarness h(16, GetParam());
    h.poll_us = kSpinForever;
    InlineEcho handler;
    h.start(&handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(h, 2);
    ASSERT_TRUE(eventually([&] { return kicks_suppressed(h, 2); })) << "kicks never turned off";
    for (uint64_t t = 3; t < 40 && !::testing::Test::HasFailure(); ++t) {
        EXPECT_FALSE(publish_unkicked(h, t)) << "asked for a kick while spinning, request " << t;
        EXPECT_EQ(reclaim_for(h, 1, 10000), std::vector<uint64_t>{t}) << "not served by the spin";
    }
    EXPECT_FALSE(h.worker_->broken());
}

// Once the spin is over, the kicks are back on before the thread sleeps: the next request
// asks for a kick, and the kick gets it served.
TEST_P(QueueSpin, KicksAreBackOnWhenTheSpinEnds) {
    WorkerHarness h(16, GetParam());
    h.poll_us = 1000;
    InlineEcho handler;
    h.start(&handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    for (uint16_t round = 1; round <= 5 && !::testing::Test::HasFailure(); ++round) {
        echo_many(h, 2);
        ASSERT_TRUE(eventually([&] { return kicks_enabled(h, uint16_t(2 * round)); }))
            << "the thread went to sleep with the kicks off";
    }
    publish_tokens(h, 1, 1);  // kicks if asked to
    EXPECT_EQ(reclaim_for(h, 1, 10000).size(), 1u);
}

// A chain published unkicked just as the spin ends (after its last look, before the kicks
// are back on) is found by the look the thread takes once they are on. Without that look
// the thread sleeps with the request in the ring and nothing to wake it.
TEST_P(QueueSpin, AChainPublishedAsTheSpinEndsIsFound) {
    WorkerHarness h(16, GetParam());
    h.poll_us = 100;
    std::atomic<bool> armed{false}, published{false}, kick_asked{false};
    h.spin_ended = [&] {
        if (!armed.exchange(false)) return;
        kick_asked = publish_unkicked(h, 4);
        published = true;
    };
    InlineEcho handler;
    h.start(&handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(h, 2);
    // The spin after those is over (the driver side is the test's alone again) ...
    ASSERT_TRUE(eventually([&] { return kicks_enabled(h, 2); }));
    armed = true;
    publish_tokens(h, 3, 1);  // ... and request 3 starts one more, whose end publishes 4
    ASSERT_TRUE(eventually([&] { return published.load(); })) << "the spin never ended";
    EXPECT_FALSE(kick_asked.load());
    EXPECT_EQ(reclaim_for(h, 2, 5000), (std::vector<uint64_t>{3, 4})) << "4 lost in the race";
}

// GET_VRING_BASE during a spin: stop() returns at once, not when the spin would end, and
// with the index of the last chain popped.
TEST_P(QueueSpin, StopDuringASpinReturnsPromptly) {
    WorkerHarness h(16, GetParam());
    h.poll_us = kSpinForever;
    h.stop_timeout_ms = 3000;  // a stop that waited for the spin would be abandoned here
    InlineEcho handler;
    h.start(&handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(h, 2);
    ASSERT_TRUE(eventually([&] { return kicks_suppressed(h, 2); }));
    EXPECT_EQ(h.worker_->stop(), 2u);
    EXPECT_FALSE(h.worker_->abandoned()) << "stop() waited for the spin";
    // Whoever serves the ring next (another daemon after a migration or a reconnect)
    // waits for a kick before it looks: the stop must leave the kicks on.
    EXPECT_TRUE(kicks_enabled(h, 2)) << "the stop left the guest's kicks off";
}

// Both rings of a shared thread are watched while it spins: the hiprio queue's too, though
// only the request queue had work in the turn before.
TEST_P(QueueSpin, TheSpinWatchesEveryRingOfTheThread) {
    WorkerHarness request(16, GetParam()), hiprio(16, GetParam());
    hiprio.queue_index = 0;
    request.poll_us = hiprio.poll_us = kSpinForever;
    InlineEcho request_handler, hiprio_handler;
    request.start(&request_handler);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    hiprio.start(&hiprio_handler, -1, 0, 0, request.worker_.get());
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    echo_many(hiprio, 2);
    echo_many(request, 2);
    ASSERT_TRUE(eventually([&] { return kicks_suppressed(request, 2); }));
    for (uint64_t t = 3; t < 30 && !::testing::Test::HasFailure(); ++t) {
        EXPECT_FALSE(publish_unkicked(hiprio, t)) << t;
        EXPECT_EQ(reclaim_for(hiprio, 1, 10000), std::vector<uint64_t>{t}) << "hiprio unseen";
        EXPECT_FALSE(publish_unkicked(request, t)) << t;
        EXPECT_EQ(reclaim_for(request, 1, 10000), std::vector<uint64_t>{t}) << "request unseen";
    }
}

// A request offloaded to the pool completes while the thread spins: the pool's wake-up
// ends the spin and its reply goes out at once.
TEST_P(QueueSpin, APoolCompletionEndsTheSpin) {
    WorkerHarness h(16, GetParam());
    h.poll_us = kSpinForever;
    PooledEcho handler;
    h.start(&handler, -1, 0, /*pool_threads=*/1);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    handler.open();
    for (uint64_t t = 1; t <= 20 && !::testing::Test::HasFailure(); ++t) {
        publish_tokens(h, t, 1);
        EXPECT_EQ(reclaim_for(h, 1, 10000), std::vector<uint64_t>{t});
    }
    EXPECT_FALSE(handler.no_pool);
}

// A wake-up that finds no request (here the lost-kick re-scan, every millisecond) does not
// start a spin: an idle daemon goes back to sleep at once. The hook counts spins that ran
// out; none may happen before the first request, one does after it.
TEST_P(QueueSpin, AnIdleWakeUpDoesNotSpin) {
    WorkerHarness h(16, GetParam());
    h.poll_us = 100;
    std::atomic<int> spins{0};
    h.spin_ended = [&] { ++spins; };
    InlineEcho handler;
    h.start(&handler, -1, /*rescan_ms=*/1);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // ~100 idle re-scans
    EXPECT_EQ(spins.load(), 0) << "spun on a wake-up that found no request";
    echo_many(h, 1);
    EXPECT_TRUE(eventually([&] { return spins.load() >= 1; })) << "no spin after a request";
}

INSTANTIATE_TEST_SUITE_P(EventIdxOrNot, QueueSpin, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "EventIdx" : "Flags"; });

}  // namespace
}  // namespace vfs::host
