#include "fuse/dax_mappings.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <spdlog/spdlog.h>

#include "vfs/wire/checked.h"

namespace vfs::host {

using vfs::wire::Error;
using vfs::wire::Status;

DaxMappings::DaxMappings(uint64_t window_size, DaxMapper& mapper, memory::WindowFiles& files)
    : window_size_(window_size), mapper_(mapper), files_(files) {}

DaxMappings::~DaxMappings() {
    log_counters("at exit");
}

Status DaxMappings::check_range(uint64_t window_size, uint64_t foffset, uint64_t len,
                                uint64_t moffset) {
    if (len == 0 || (foffset | len | moffset) & (kAlign - 1)) return Error{EINVAL};
    uint64_t fend = 0;
    if (!vfs::wire::checked_add(foffset, len, &fend) || fend > static_cast<uint64_t>(INT64_MAX))
        return Error{EINVAL};
    uint64_t mend = 0;
    if (!vfs::wire::checked_add(moffset, len, &mend) || mend > window_size) return Error{EINVAL};
    return {};
}

Status DaxMappings::refuse(int err, const char* why) {
    {
        std::lock_guard lock(mu_);
        ++counters_.refused;
    }
    spdlog::warn("dax: {}: {}", why, strerror(err));
    return Error{err};
}

Status DaxMappings::setup(DataFile file, uint64_t foffset, uint64_t len, uint64_t moffset,
                          bool writable) {
    if (Status s = check_range(window_size_, foffset, len, moffset); !s)
        return refuse(s.error(), "SETUPMAPPING range refused (alignment, window, overflow)");
    // A read mapping may carry a write grant (see fuse/dax_grant.cpp), never the reverse.
    if (!file.allows(DataAccess::kWrite) && (writable || !file.allows(DataAccess::kRead)))
        return refuse(EBADF, "SETUPMAPPING without a grant for its access");
    memory::FileId id;
    if (!memory::file_id_of(file.fd(), &id)) return refuse(EBADF, "SETUPMAPPING: fstat failed");
    if (!mapper_.ready())
        return refuse(EIO,
                      "SETUPMAPPING while the device does not run (not every ring started: "
                      "--num-queues must be the number of rings the front-end starts, num_vqs "
                      "in QEMU)");

    std::lock_guard op(op_mu_);
    unmap_stale();
    // Take out what the new range overlaps: the front-end refuses a map over a live one,
    // and unmaps only whole mappings.
    std::vector<std::pair<uint64_t, Live>> replaced;
    uint64_t epoch = 0;
    {
        std::lock_guard lock(mu_);
        auto it = live_.lower_bound(moffset);
        if (it != live_.begin()) {
            auto prev = std::prev(it);
            if (prev->first + prev->second.len > moffset) it = prev;
        }
        size_t overlapping = 0;
        for (auto j = it; j != live_.end() && j->first < moffset + len; ++j)
            ++overlapping;
        if (live_.size() - overlapping >= kMaxLive) {
            ++counters_.refused;
            spdlog::warn("dax: SETUPMAPPING refused: {} mappings live already", live_.size());
            return Error{ENOSPC};
        }
        while (it != live_.end() && it->first < moffset + len) {
            replaced.emplace_back(it->first, std::move(it->second));
            it = live_.erase(it);
        }
        epoch = epoch_;
    }
    for (auto& [off, old] : replaced) {
        Status u = mapper_.unmap(off, old.len);
        files_.remove(old.id);
        std::lock_guard lock(mu_);
        if (u) {
            ++counters_.unmaps;
        } else {
            ++counters_.failed;
        }
    }
    files_.add(id);  // before the map: the front-end reports it as memory at once
    const uint64_t reports = files_.reports();
    Status m = mapper_.map(file.fd(), foffset, moffset, len, writable);
    // The guest may touch the range once we answer: not before the front-end's memory
    // layout has it (see WindowFiles::wait_reported).
    if (m && !files_.wait_reported(reports))
        spdlog::debug("dax: the front-end did not report the mapping at {:#x} as memory", moffset);
    std::lock_guard lock(mu_);
    if (!m) {
        files_.remove(id);
        ++counters_.failed;
        spdlog::warn("dax: SETUPMAPPING {:#x}+{:#x} at {:#x}: the front-end did not map it: {}",
                     foffset, len, moffset, strerror(m.error()));
        return Error{EIO};
    }
    ++counters_.maps;
    if (epoch != epoch_) {
        // Dropped while the front-end mapped it: the session it belonged to is gone.
        stale_.push_back({{moffset, len}, id});
        return Error{EIO};
    }
    live_.emplace(moffset, Live{len, id, std::move(file)});
    counters_.live = live_.size();
    spdlog::debug("dax: SETUPMAPPING served: file {:#x}+{:#x} at {:#x} ({})", foffset, len, moffset,
                  writable ? "rw" : "ro");
    return {};
}

Status DaxMappings::remove(std::span<const DaxRange> ranges) {
    if (ranges.size() > kMaxRemoveRanges) return refuse(EINVAL, "REMOVEMAPPING: too many ranges");
    std::lock_guard op(op_mu_);
    std::vector<std::pair<DaxRange, memory::FileId>> gone;
    {
        std::lock_guard lock(mu_);
        // All or nothing: every range must be a live mapping before any is unmapped.
        for (const DaxRange& r : ranges) {
            auto it = live_.find(r.moffset);
            if (it == live_.end() || it->second.len != r.len) {
                ++counters_.refused;
                spdlog::warn("dax: REMOVEMAPPING {:#x}+{:#x}: no such mapping", r.moffset, r.len);
                return Error{ENOENT};
            }
        }
        for (const DaxRange& r : ranges) {
            auto it = live_.find(r.moffset);
            if (it == live_.end()) continue;  // the same range twice
            gone.push_back({r, it->second.id});
            live_.erase(it);
        }
        counters_.live = live_.size();
    }
    Status result;
    for (const auto& [r, id] : gone) {
        Status u = mapper_.unmap(r.moffset, r.len);
        files_.remove(id);
        std::lock_guard lock(mu_);
        if (u) {
            ++counters_.unmaps;
        } else {
            ++counters_.failed;
            result = Error{EIO};
        }
    }
    return result;
}

void DaxMappings::unmap_stale() {
    std::vector<Stale> stale;
    {
        std::lock_guard lock(mu_);
        stale.swap(stale_);
    }
    for (const Stale& s : stale) {
        // The front-end may have dropped it itself (a device reset): a refusal is fine.
        Status u = mapper_.unmap(s.range.moffset, s.range.len);
        files_.remove(s.id);
        if (u) {
            std::lock_guard lock(mu_);
            ++counters_.unmaps;
        }
    }
}

void DaxMappings::drop_all(const char* why) {
    std::map<uint64_t, Live> dropped;
    {
        std::lock_guard lock(mu_);
        dropped.swap(live_);
        for (auto& [off, l] : dropped)
            stale_.push_back({{off, l.len}, l.id});
        // Bounded: drops without a map in between (resets in a loop) must not grow it.
        constexpr size_t kMaxStale = 4 * kMaxLive;
        if (stale_.size() > kMaxStale) {
            for (size_t i = 0; i < stale_.size() - kMaxStale; ++i)
                files_.remove(stale_[i].id);
            stale_.erase(stale_.begin(), stale_.end() - kMaxStale);
        }
        ++epoch_;
        counters_.live = 0;
        if (!dropped.empty()) ++counters_.drops;
    }
    // The grants close here, outside the lock.
    dropped.clear();
    log_counters(why);
}

DaxCounters DaxMappings::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

void DaxMappings::log_counters(const char* when) const {
    const DaxCounters c = counters();
    spdlog::info(
        "dax: counters ({}): SETUPMAPPING served {}, unmapped {}, refused {}, failed {}, "
        "dropped {}, live {}",
        when, c.maps, c.unmaps, c.refused, c.failed, c.drops, c.live);
}

}  // namespace vfs::host
