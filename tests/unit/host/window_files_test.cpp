// memory::WindowFiles' wait for the front-end's report of a DAX mapping (ADD_MEM_REG):
// bounded whatever the front-end does. One that never reports costs one timed-out wait,
// then none; a report turns the wait back on; cancel_waits() frees a waiting worker at
// once (the connection thread stopping a ring cannot read the report) until resume_waits().
#include "memory/window_files.h"

#include <gtest/gtest.h>

#include <future>

namespace vfs::host::memory {
namespace {

using Wait = WindowFiles::Wait;

TEST(WindowFiles, AFrontendThatNeverReportsIsWaitedForOnceThenNever) {
    WindowFiles f;
    EXPECT_EQ(f.wait_reported(f.reports()), Wait::kTimedOut);
    EXPECT_EQ(f.wait_reported(f.reports()), Wait::kNotAsked);
    EXPECT_EQ(f.wait_reported(f.reports()), Wait::kNotAsked);
    // A report coming later turns the wait back on.
    const uint64_t before = f.reports();
    f.reported();
    EXPECT_EQ(f.wait_reported(before), Wait::kReported);
}

TEST(WindowFiles, AReportFromAnotherThreadEndsTheWait) {
    WindowFiles f;
    f.reported();  // a front-end that reports
    const uint64_t before = f.reports();
    auto waiter = std::async(std::launch::async, [&] { return f.wait_reported(before); });
    f.reported();
    EXPECT_EQ(waiter.get(), Wait::kReported);
}

TEST(WindowFiles, CancelFreesAWaiterAndHoldsUntilResumed) {
    WindowFiles f;
    f.reported();  // known to report: a wait would last 5 s
    const uint64_t before = f.reports();
    auto waiter = std::async(std::launch::async, [&] { return f.wait_reported(before); });
    f.cancel_waits();
    EXPECT_EQ(waiter.get(), Wait::kCancelled);
    EXPECT_EQ(f.wait_reported(before), Wait::kCancelled);  // one after the cancel too
    f.resume_waits();
    auto again = std::async(std::launch::async, [&] { return f.wait_reported(before); });
    f.reported();
    EXPECT_EQ(again.get(), Wait::kReported);
}

}  // namespace
}  // namespace vfs::host::memory
