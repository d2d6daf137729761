// The queue's thread pool on its own: every job runs and its result comes back once, N
// jobs really run at once, a blocked job holds up no other, the capacity is a hard limit,
// wait_idle() waits for running jobs, destruction lets queued jobs finish, and a bounded
// stop gives up on a stuck job without the thread touching freed memory afterwards.
#include "queue/thread_pool.h"

#include <gtest/gtest.h>

#include <memory>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace vfs::host {
namespace {

using namespace std::chrono_literals;

// A latch jobs wait on, released by the test (or after a timeout, so a broken pool fails
// the test instead of hanging it).
class Gate {
  public:
    // True if opened before the timeout.
    bool wait(std::chrono::milliseconds timeout = 10s) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, timeout, [this] { return open_; });
    }
    void open() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            open_ = true;
        }
        cv_.notify_all();
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool open_ = false;
};

// Collects results on the test thread, as the queue worker does on its own.
std::vector<std::pair<uint32_t, uint32_t>> take_until(ThreadPool& pool, size_t n,
                                                      std::chrono::milliseconds limit = 10s) {
    std::vector<std::pair<uint32_t, uint32_t>> got;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
        pool.take_finished([&](uint32_t job, uint32_t r) { got.emplace_back(job, r); });
        std::this_thread::sleep_for(1ms);
    }
    return got;
}

TEST(ThreadPool, EveryJobRunsOnceAndItsResultComesBack) {
    std::atomic<int> notified{0};
    auto pool = ThreadPool::start(
        3, 64, [](uint32_t job) { return job * 10; }, [&] { ++notified; });
    ASSERT_TRUE(pool);
    for (uint32_t j = 0; j < 64; ++j)
        ASSERT_TRUE((*pool)->submit(j));
    auto got = take_until(**pool, 64);
    ASSERT_EQ(got.size(), 64u);
    std::set<uint32_t> jobs;
    for (auto [job, r] : got) {
        EXPECT_EQ(r, job * 10);
        jobs.insert(job);
    }
    EXPECT_EQ(jobs.size(), 64u);
    EXPECT_EQ(notified.load(), 64);
    EXPECT_EQ((*pool)->take_finished([](uint32_t, uint32_t) {}), 0u);
}

// N threads run N jobs at the same time: each waits until all have started.
TEST(ThreadPool, NThreadsRunNJobsAtOnce) {
    constexpr unsigned kThreads = 4;
    std::mutex mu;
    std::condition_variable cv;
    unsigned started = 0;
    auto pool = ThreadPool::start(
        kThreads, 16,
        [&](uint32_t) -> uint32_t {
            std::unique_lock<std::mutex> lock(mu);
            ++started;
            cv.notify_all();
            return cv.wait_for(lock, 10s, [&] { return started == kThreads; }) ? 1 : 0;
        },
        [] {});
    ASSERT_TRUE(pool);
    EXPECT_EQ((*pool)->threads(), kThreads);
    for (uint32_t j = 0; j < kThreads; ++j)
        ASSERT_TRUE((*pool)->submit(j));
    auto got = take_until(**pool, kThreads);
    ASSERT_EQ(got.size(), kThreads);
    for (auto [job, r] : got)
        EXPECT_EQ(r, 1u) << "job " << job << " never saw the others running";
}

// One job blocked (a slow LOOKUP) holds up no other while a thread is free.
TEST(ThreadPool, ABlockedJobHoldsUpNoOther) {
    Gate gate;
    auto pool = ThreadPool::start(
        2, 16,
        [&](uint32_t job) -> uint32_t {
            if (job == 0) return gate.wait() ? 100 : 0;
            return job;
        },
        [] {});
    ASSERT_TRUE(pool);
    ASSERT_TRUE((*pool)->submit(0));
    for (uint32_t j = 1; j <= 8; ++j)
        ASSERT_TRUE((*pool)->submit(j));
    auto got = take_until(**pool, 8);
    ASSERT_EQ(got.size(), 8u);
    for (auto [job, r] : got)
        EXPECT_NE(job, 0u);
    gate.open();
    got = take_until(**pool, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], std::make_pair(0u, 100u));
}

// Capacity counts jobs until they are taken back, finished or not.
TEST(ThreadPool, CapacityIsAHardLimitUntilResultsAreTaken) {
    auto pool = ThreadPool::start(
        1, 2, [](uint32_t job) { return job; }, [] {});
    ASSERT_TRUE(pool);
    ASSERT_TRUE((*pool)->submit(1));
    ASSERT_TRUE((*pool)->submit(2));
    EXPECT_FALSE((*pool)->submit(3));
    (*pool)->wait_idle();
    EXPECT_FALSE((*pool)->submit(3)) << "finished but untaken results still count";
    EXPECT_EQ((*pool)->take_finished([](uint32_t, uint32_t) {}), 2u);
    EXPECT_TRUE((*pool)->submit(3));
    EXPECT_EQ(take_until(**pool, 1).size(), 1u);
}

TEST(ThreadPool, WaitIdleWaitsForRunningJobs) {
    Gate gate;
    std::atomic<bool> finished{false};
    auto pool = ThreadPool::start(
        2, 4,
        [&](uint32_t) -> uint32_t {
            gate.wait();
            finished = true;
            return 0;
        },
        [] {});
    ASSERT_TRUE(pool);
    ASSERT_TRUE((*pool)->submit(0));
    std::thread opener([&] {
        std::this_thread::sleep_for(100ms);
        gate.open();
    });
    (*pool)->wait_idle();
    EXPECT_TRUE(finished.load());
    opener.join();
}

// Destruction is a queue stop: jobs queued behind a busy thread still run.
TEST(ThreadPool, DestructionRunsEveryQueuedJob) {
    std::atomic<int> ran{0};
    {
        auto pool = ThreadPool::start(
            1, 8,
            [&](uint32_t) -> uint32_t {
                std::this_thread::sleep_for(5ms);
                ++ran;
                return 0;
            },
            [] {});
        ASSERT_TRUE(pool);
        for (uint32_t j = 0; j < 8; ++j)
            ASSERT_TRUE((*pool)->submit(j));
    }
    EXPECT_EQ(ran.load(), 8);
}

TEST(ThreadPool, RefusesZeroThreadsOrCapacity) {
    EXPECT_FALSE(ThreadPool::start(
        0, 4, [](uint32_t) { return 0u; }, [] {}));
    EXPECT_FALSE(ThreadPool::start(
        2, 0, [](uint32_t) { return 0u; }, [] {}));
}

// A job stuck in a call (a hung mount) must not hold the pool's owner up past the bound
// given at start: the destructor gives up and returns. The detached thread, once its job
// returns, starts no queued job and never calls notify (the owner is gone), and the
// pool's state it still uses stays valid until it ends (checked by ASan, and by the state,
// which holds the work function, being freed only then).
TEST(ThreadPool, ABoundedStopGivesUpOnAStuckJobAndItsThreadTouchesNothingFreed) {
    struct Probe {
        Gate release;
        Gate started;
    };
    struct Counts {
        std::atomic<int> ran{0};
        std::atomic<int> notified{0};
    };
    auto probe = std::make_shared<Probe>();
    auto counts = std::make_shared<Counts>();
    std::weak_ptr<Probe> alive = probe;
    {
        auto pool = ThreadPool::start(
            1, 4,
            [p = probe, c = counts](uint32_t) {
                ++c->ran;
                p->started.open();
                p->release.wait();
                return 0u;
            },
            [c = counts] { ++c->notified; }, "vfs-pool-test", 50);
        ASSERT_TRUE(pool);
        ASSERT_TRUE((*pool)->submit(0));
        ASSERT_TRUE((*pool)->submit(1));  // queued behind the stuck one
        ASSERT_TRUE(probe->started.wait());
        EXPECT_FALSE((*pool)->idle());
    }  // the destructor gives up at 50 ms
    Gate* release = &probe->release;
    std::shared_ptr<Probe> keep = probe;  // the gate must outlive the open() below
    probe.reset();
    release->open();
    keep.reset();
    // Only the work function the state holds keeps the probe now: it goes when the thread
    // ends and drops the state.
    for (int i = 0; i < 10000 && !alive.expired(); ++i)
        std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(alive.expired()) << "the detached thread never let go of the pool's state";
    EXPECT_EQ(counts->ran.load(), 1);       // the queued job never started
    EXPECT_EQ(counts->notified.load(), 0);  // nor was the gone owner notified
}

TEST(ThreadPool, AStopIsAnsweredOnceAndAStoppedPoolTakesNoJob) {
    auto pool = ThreadPool::start(
        2, 4, [](uint32_t j) { return j; }, [] {});
    ASSERT_TRUE(pool);
    ASSERT_TRUE((*pool)->submit(7));
    EXPECT_TRUE((*pool)->stop(1000));
    EXPECT_TRUE((*pool)->stop(1000));
    EXPECT_FALSE((*pool)->submit(8));
    uint32_t got = 0;
    EXPECT_EQ((*pool)->take_finished([&](uint32_t, uint32_t r) { got = r; }), 1u);
    EXPECT_EQ(got, 7u);
    EXPECT_TRUE((*pool)->idle());
}

}  // namespace
}  // namespace vfs::host
