// The files a device has mapped into its shared-memory window (DAX), by device and inode.
//
// A front-end such as QEMU 11.1 reports every shared-memory mapping as one more region of
// guest memory (ADD_MEM_REG with the file's fd). Such a region is not guest RAM: the file
// may be shorter than the range (a SIGBUS waiting to happen if the daemon touched it), and
// no descriptor the daemon serves needs it. The protocol layer asks holds(fd) and records
// such regions without mapping them. Counted, since two mappings may share a file.
// Thread-safe: workers add and remove while the connection thread asks.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

namespace vfs::host::memory {

struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator<(const FileId& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

// The identity of an open file; false if fstat fails.
inline bool file_id_of(int fd, FileId* out) {
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) return false;
    *out = {st.st_dev, st.st_ino};
    return true;
}

class WindowFiles {
  public:
    void add(const FileId& id) {
        std::lock_guard lock(mu_);
        ++counts_[id];
    }
    void remove(const FileId& id) {
        std::lock_guard lock(mu_);
        auto it = counts_.find(id);
        if (it != counts_.end() && --it->second == 0) counts_.erase(it);
    }
    bool holds(int fd) const {
        FileId id;
        if (!file_id_of(fd, &id)) return false;
        std::lock_guard lock(mu_);
        return counts_.count(id) != 0;
    }
    size_t size() const {
        std::lock_guard lock(mu_);
        return counts_.size();
    }

    // The front-end reported a region whose fd is one of these files: the memory layout
    // with the mapping is in effect (see wait_reported()). The connection thread.
    void reported() {
        {
            std::lock_guard lock(mu_);
            ++reports_;
            reporting_ = Reporting::kYes;
        }
        cv_.notify_all();
    }
    uint64_t reports() const {
        std::lock_guard lock(mu_);
        return reports_;
    }
    enum class Wait : unsigned char {
        kReported,   // a report came after `before`
        kNotAsked,   // the front-end is known not to report: no wait
        kTimedOut,   // none in the bound: from now on taken as a front-end that does not report
        kCancelled,  // cancel_waits(): a ring is stopping
    };
    // Waits until a report after `before`. QEMU 11.1.3 acks a SHMEM_MAP before it commits
    // the new memory layout, and reports the mapping (ADD_MEM_REG) from that commit: a
    // guest told "mapped" at the ack can read the window before its mapping is there
    // (a polling guest read stale bytes). Bounded whatever the front-end does: 500 ms
    // while it is not known to report, 5 s once it has; a timeout (a front-end that never
    // reports, or stopped reporting: QEMU does not once its memory slots are full) turns
    // the wait off, a report coming later turns it back on. So a front-end that never
    // reports costs one 500 ms wait, not one per map.
    Wait wait_reported(uint64_t before) {
        std::unique_lock lock(mu_);
        if (reports_ > before) return Wait::kReported;
        if (reporting_ == Reporting::kNo) return Wait::kNotAsked;
        const auto timeout = reporting_ == Reporting::kYes ? std::chrono::milliseconds(5000)
                                                           : std::chrono::milliseconds(500);
        if (cv_.wait_for(lock, timeout, [&] { return reports_ > before || cancelled_; })) {
            return reports_ > before ? Wait::kReported : Wait::kCancelled;
        }
        reporting_ = Reporting::kNo;
        return Wait::kTimedOut;
    }
    // Frees every wait and makes new ones return at once until resume_waits(): the
    // connection thread stopping a ring cannot read the report a waiting worker needs
    // (the front-end may even wait for the stop before it sends it).
    void cancel_waits() {
        {
            std::lock_guard lock(mu_);
            cancelled_ = true;
        }
        cv_.notify_all();
    }
    void resume_waits() {
        std::lock_guard lock(mu_);
        cancelled_ = false;
    }

  private:
    enum class Reporting : unsigned char { kUnknown, kYes, kNo };
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<FileId, uint32_t> counts_;
    uint64_t reports_ = 0;
    Reporting reporting_ = Reporting::kUnknown;
    bool cancelled_ = false;
};

}  // namespace vfs::host::memory
