// Frontend's dirty-log calls (frontend.h): what QEMU's vhost layer sends when a migration
// starts logging on running rings (vhost_dev_log_resize, vhost_dev_set_log) and stops.
#include <errno.h>

#include "frontend.h"

namespace vfs::frontend {

using vu::Request;

Status Frontend::set_queue_log(uint32_t q, bool log) {
    const RingPlacement p = queues_[q]->placement();
    vu::VringAddr a;
    a.index = q;
    a.flags = log ? vu::kVringAddrFlagLog : 0;
    a.desc_user_addr = reinterpret_cast<uint64_t>(ram_->at(p.desc, 1));
    a.used_user_addr = reinterpret_cast<uint64_t>(ram_->at(p.used, 1));
    a.avail_user_addr = reinterpret_cast<uint64_t>(ram_->at(p.avail, 1));
    a.log_guest_addr = p.used;
    return client_->send_obj(Request::kSetVringAddr, a);
}

Status Frontend::start_dirty_log() {
    if (!(neg_.protocol_features & vu::protocol_feature::kLogShmfd) ||
        !(neg_.offered_features & vu::feature::kLogAll))
        return Error{EOPNOTSUPP};
    auto log = DirtyBitmap::create(ram_->size());
    if (!log) return Error{log.error()};
    const vu::LogParams params{(*log)->size(), 0};
    const int fd = (*log)->fd();
    uint64_t status = ~0ull;
    if (Status s = client_->call(Request::kSetLogBase, &params, sizeof(params), &status,
                                 sizeof(status), &fd, 1);
        !s)
        return s;
    if (status != 0) return Error{status < 4096 ? static_cast<int>(status) : EIO};
    log_ = std::move(*log);
    if (Status s = client_->send_obj(Request::kSetFeatures, neg_.features | vu::feature::kLogAll);
        !s)
        return s;
    for (uint32_t q = 0; q < queues_.size(); ++q)
        if (Status s = set_queue_log(q, true); !s) return s;
    return {};
}

Status Frontend::stop_dirty_log() {
    if (Status s = client_->send_obj(Request::kSetFeatures, neg_.features); !s) return s;
    for (uint32_t q = 0; q < queues_.size(); ++q)
        if (Status s = set_queue_log(q, false); !s) return s;
    return {};
}

}  // namespace vfs::frontend
