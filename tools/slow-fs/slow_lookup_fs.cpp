#include "slow_lookup_fs.h"

#include <thread>

namespace vfs::slowfs {

Result<fuse_entry_out> SlowLookupFs::lookup(const RequestContext& ctx, uint64_t parent,
                                            std::string_view name) {
    if (name != slow_name_) return inner_->lookup(ctx, parent, name);
    {
        std::unique_lock<std::mutex> lock(mu_);
        ++started_;
        cv_.notify_all();
        if (gated_) cv_.wait_for(lock, std::chrono::seconds(30), [this] { return released_; });
    }
    if (!gated_) std::this_thread::sleep_for(delay_);
    auto r = inner_->lookup(ctx, parent, name);
    ++finished_;
    return r;
}

bool SlowLookupFs::wait_started(uint64_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return started_.load() >= n; });
}

void SlowLookupFs::release() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        released_ = true;
    }
    cv_.notify_all();
}

}  // namespace vfs::slowfs
