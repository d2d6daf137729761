#include "fuse/dax_mappings.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

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

Status DaxMappings::map_piece(const DataFile& file, uint64_t foffset, uint64_t moffset,
                              const memory::FileId& id, bool writable, Piece* p) {
    int fd = file.fd();
    uint64_t fd_offset = foffset + p->offset;
    memory::FileId mapped = id;
    if (p->tail_page >= 0) {
        std::lock_guard lock(mu_);
        const int page = tails_.take();
        if (page < 0 || !tails_.load(page, file.fd(), fd_offset)) {
            if (page >= 0) tails_.give(page);
            ++counters_.failed;
            spdlog::warn("dax: no tail page for the page holding EOF at {:#x}{}", fd_offset,
                         page < 0 ? " (all in use)" : " (the file cannot be read)");
            p->tail_page = -1;
            return Error{EIO};
        }
        p->tail_page = page;
        fd = tails_.fd();
        fd_offset = DaxTailPages::offset_of(page);
        mapped = tails_.id();
    }
    files_.add(mapped);  // before the map: the front-end reports it as memory at once
    const uint64_t reports = files_.reports();
    Status m = mapper_.map(fd, fd_offset, moffset + p->offset, p->len, writable);
    // The guest may touch the range once we answer: not before the front-end's memory
    // layout has it (see WindowFiles::wait_reported).
    if (m && files_.wait_reported(reports) == memory::WindowFiles::Wait::kTimedOut)
        spdlog::warn(
            "dax: the front-end did not report the mapping at {:#x} as memory (ADD_MEM_REG, "
            "as QEMU 11.1 does after a SHMEM_MAP); later maps do not wait for a report until "
            "one comes",
            moffset + p->offset);
    if (m) return {};
    files_.remove(mapped);
    std::lock_guard lock(mu_);
    if (p->tail_page >= 0) tails_.give(p->tail_page);
    p->tail_page = -1;
    ++counters_.failed;
    spdlog::warn("dax: {:#x}+{:#x} at {:#x}: the front-end did not map it: {}", fd_offset, p->len,
                 moffset + p->offset, strerror(m.error()));
    return Error{EIO};
}

bool DaxMappings::unmap_live(uint64_t moffset, Live& l) {
    {
        std::lock_guard lock(mu_);
        write_back_locked(l);
    }
    bool ok = true;
    for (const Piece& p : l.pieces) {
        Status u = mapper_.unmap(moffset + p.offset, p.len);
        files_.remove(p.tail_page >= 0 ? tails_.id() : l.id);
        std::lock_guard lock(mu_);
        // Unmapped or not, the front-end no longer maps the page for this range.
        if (p.tail_page >= 0) tails_.give(p.tail_page);
        if (u) {
            ++counters_.unmaps;
        } else {
            ++counters_.failed;
            ok = false;
        }
    }
    l.pieces.clear();
    return ok;
}

void DaxMappings::write_back_locked(Live& l) {
    if (!l.writable) return;  // Linux stores only through write mappings
    for (const Piece& p : l.pieces) {
        if (p.tail_page < 0) continue;
        const int64_t n = tails_.write_back(p.tail_page, l.file.fd(), l.foffset + p.offset);
        if (n < 0) {
            ++counters_.failed;
            spdlog::warn("dax: writing a tail page back to the file at {:#x} failed: {}",
                         l.foffset + p.offset, strerror(errno));
        } else if (n > 0) {
            ++counters_.write_backs;
        }
    }
}

void DaxMappings::reload_tails(Live& l, uint64_t size) {
    write_back_locked(l);
    for (const Piece& p : l.pieces) {
        if (p.tail_page >= 0 && !tails_.load(p.tail_page, l.file.fd(), l.foffset + p.offset)) {
            ++counters_.failed;
            spdlog::warn("dax: loading a tail page from the file at {:#x} failed: {}",
                         l.foffset + p.offset, strerror(errno));
        }
    }
    l.seen_size = size;
}

void DaxMappings::count_locked() {
    uint64_t pieces = 0, tails = 0;
    uint32_t open = 0;
    for (const auto& [off, l] : live_) {
        pieces += l.pieces.size();
        for (const Piece& p : l.pieces)
            tails += p.tail_page >= 0;
        open += l.open_ended();
    }
    counters_.live = live_.size();
    counters_.pieces = pieces;
    counters_.tail_pages = tails;
    open_ended_.store(open, std::memory_order_release);
}

Status DaxMappings::setup(DataFile file, uint64_t foffset, uint64_t len, uint64_t moffset,
                          bool writable, uint64_t nodeid) {
    if (Status s = check_range(window_size_, foffset, len, moffset); !s)
        return refuse(s.error(), "SETUPMAPPING range refused (alignment, window, overflow)");
    // A read mapping may carry a write grant (see fuse/dax_grant.cpp), never the reverse.
    if (!file.allows(DataAccess::kWrite) && (writable || !file.allows(DataAccess::kRead)))
        return refuse(EBADF, "SETUPMAPPING without a grant for its access");
    memory::FileId id;
    struct stat st {};
    if (!memory::file_id_of(file.fd(), &id) || ::fstat(file.fd(), &st) != 0)
        return refuse(EBADF, "SETUPMAPPING: fstat failed");
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
        size_t overlapping = 0, overlapping_pieces = 0;
        for (auto j = it; j != live_.end() && j->first < moffset + len; ++j) {
            ++overlapping;
            overlapping_pieces += j->second.pieces.size();
        }
        if (live_.size() - overlapping >= kMaxLive ||
            counters_.pieces - overlapping_pieces + 2 > kMaxPieces) {
            ++counters_.refused;
            spdlog::warn("dax: SETUPMAPPING refused: {} mappings ({} pieces) live already",
                         live_.size(), counters_.pieces);
            return Error{ENOSPC};
        }
        while (it != live_.end() && it->first < moffset + len) {
            replaced.emplace_back(it->first, std::move(it->second));
            it = live_.erase(it);
        }
        count_locked();
        epoch = epoch_;
    }
    for (auto& [off, old] : replaced)
        (void)unmap_live(off, old);

    Live l;
    l.len = len;
    l.id = id;
    l.foffset = foffset;
    l.nodeid = nodeid;
    l.writable = writable;
    l.coverage = DaxCoverage(foffset, len);
    l.seen_size = static_cast<uint64_t>(st.st_size);
    l.file = std::move(file);
    DaxPiece want[2];
    const size_t n = l.coverage.extend(l.seen_size, want);
    for (size_t i = 0; i < n; ++i) {
        Piece p{want[i].offset, want[i].len, want[i].tail ? 0 : -1};
        if (!map_piece(l.file, foffset, moffset, id, writable, &p)) {
            (void)unmap_live(moffset, l);
            return Error{EIO};
        }
        l.pieces.push_back(p);
    }
    std::lock_guard lock(mu_);
    ++counters_.maps;
    if (epoch != epoch_) {
        // Dropped while the front-end mapped it: the session it belonged to is gone.
        for (const Piece& p : l.pieces)
            stale_.push_back(
                {{moffset + p.offset, p.len}, p.tail_page >= 0 ? tails_.id() : id, p.tail_page});
        return Error{EIO};
    }
    spdlog::debug("dax: SETUPMAPPING done: file {:#x}+{:#x} at {:#x} ({}), {} pieces", foffset, len,
                  moffset, writable ? "rw" : "ro", l.pieces.size());
    live_.emplace(moffset, std::move(l));
    count_locked();
    return {};
}

void DaxMappings::cover(uint64_t nodeid) {
    if (open_ended_.load(std::memory_order_acquire) == 0 || !mapper_.ready()) return;
    std::lock_guard op(op_mu_);
    struct Work {
        uint64_t moffset = 0;
        DataFile file;
        uint64_t foffset = 0;
        memory::FileId id;
        bool writable = false;
        DaxPiece want[2];
        size_t n = 0;
    };
    std::vector<Work> work;
    uint64_t epoch = 0;
    {
        std::lock_guard lock(mu_);
        epoch = epoch_;
        for (auto& [off, l] : live_) {
            if (!l.open_ended() || (nodeid != kAnyNode && l.nodeid != nodeid)) continue;
            struct stat st {};
            if (::fstat(l.file.fd(), &st) != 0) continue;
            const uint64_t size = static_cast<uint64_t>(st.st_size);
            if (size != l.seen_size) reload_tails(l, size);
            Work w{off, l.file, l.foffset, l.id, l.writable, {}, 0};
            w.n = l.coverage.extend(size, w.want);
            if (w.n != 0) work.push_back(std::move(w));
        }
    }
    for (Work& w : work) {
        std::vector<Piece> added;
        for (size_t i = 0; i < w.n; ++i) {
            {
                std::lock_guard lock(mu_);
                if (counters_.pieces + added.size() >= kMaxPieces) {
                    ++counters_.failed;
                    spdlog::warn("dax: the file at window {:#x} grew, but {} pieces are live",
                                 w.moffset, counters_.pieces);
                    break;
                }
            }
            Piece p{w.want[i].offset, w.want[i].len, w.want[i].tail ? 0 : -1};
            if (!map_piece(w.file, w.foffset, w.moffset, w.id, w.writable, &p)) break;
            added.push_back(p);
        }
        std::lock_guard lock(mu_);
        auto it = live_.find(w.moffset);
        if (epoch != epoch_ || it == live_.end()) {
            for (const Piece& p : added)
                stale_.push_back({{w.moffset + p.offset, p.len},
                                  p.tail_page >= 0 ? tails_.id() : w.id,
                                  p.tail_page});
            continue;
        }
        counters_.extended += added.size();
        for (const Piece& p : added)
            it->second.pieces.push_back(p);
        count_locked();
    }
}

void DaxMappings::write_back(uint64_t nodeid) {
    if (open_ended_.load(std::memory_order_acquire) == 0) return;
    std::lock_guard lock(mu_);
    for (auto& [off, l] : live_)
        if (nodeid == kAnyNode || l.nodeid == nodeid) write_back_locked(l);
}

void DaxMappings::refresh(uint64_t nodeid) {
    if (open_ended_.load(std::memory_order_acquire) == 0) return;
    {
        std::lock_guard lock(mu_);
        for (auto& [off, l] : live_) {
            if (!l.has_tail() || (nodeid != kAnyNode && l.nodeid != nodeid)) continue;
            struct stat st {};
            if (::fstat(l.file.fd(), &st) == 0) reload_tails(l, static_cast<uint64_t>(st.st_size));
        }
    }
    cover(nodeid);
}

Status DaxMappings::remove(std::span<const DaxRange> ranges) {
    if (ranges.size() > kMaxRemoveRanges) return refuse(EINVAL, "REMOVEMAPPING: too many ranges");
    std::lock_guard op(op_mu_);
    std::vector<std::pair<uint64_t, Live>> gone;
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
            gone.emplace_back(r.moffset, std::move(it->second));
            live_.erase(it);
        }
        count_locked();
    }
    Status result;
    for (auto& [off, l] : gone)
        if (!unmap_live(off, l)) result = Error{EIO};
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
        std::lock_guard lock(mu_);
        if (s.tail_page >= 0) tails_.give(s.tail_page);
        if (u) ++counters_.unmaps;
    }
}

void DaxMappings::drop_all(const char* why) {
    std::map<uint64_t, Live> dropped;
    {
        std::lock_guard lock(mu_);
        dropped.swap(live_);
        for (auto& [off, l] : dropped) {
            // The guest's last stores to tail pages still reach the file.
            write_back_locked(l);
            for (const Piece& p : l.pieces)
                stale_.push_back(
                    {{off + p.offset, p.len}, p.tail_page >= 0 ? tails_.id() : l.id, p.tail_page});
        }
        // Bounded: drops without a map in between (resets in a loop) must not grow it.
        constexpr size_t kMaxStale = 4 * kMaxPieces;
        if (stale_.size() > kMaxStale) {
            for (size_t i = 0; i < stale_.size() - kMaxStale; ++i) {
                files_.remove(stale_[i].id);
                tails_.give(stale_[i].tail_page);
            }
            stale_.erase(stale_.begin(), stale_.end() - kMaxStale);
        }
        ++epoch_;
        count_locked();
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
        "dropped {}, live {} ({} pieces, {} tail pages), extended {}, tail write-backs {}",
        when, c.maps, c.unmaps, c.refused, c.failed, c.drops, c.live, c.pieces, c.tail_pages,
        c.extended, c.write_backs);
}

}  // namespace vfs::host
