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
    // Waits until a report after `before`. QEMU 11.1.3 acks a SHMEM_MAP before it commits
    // the new memory layout, and reports the mapping (ADD_MEM_REG) from that commit: a
    // guest told "mapped" at the ack can read the window before its mapping is there
    // (a polling guest read stale bytes). A front-end that never reports one (the
    // in-process tools/frontend maps at once) is learned on the first timeout; a report
    // coming later still turns the wait back on. False on a timeout.
    bool wait_reported(uint64_t before) {
        std::unique_lock lock(mu_);
        if (reporting_ == Reporting::kNo) return reports_ > before;
        const auto timeout = reporting_ == Reporting::kYes ? std::chrono::milliseconds(5000)
                                                           : std::chrono::milliseconds(500);
        if (cv_.wait_for(lock, timeout, [&] { return reports_ > before; })) return true;
        if (reporting_ == Reporting::kUnknown) reporting_ = Reporting::kNo;
        return false;
    }

  private:
    enum class Reporting : unsigned char { kUnknown, kYes, kNo };
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<FileId, uint32_t> counts_;
    uint64_t reports_ = 0;
    Reporting reporting_ = Reporting::kUnknown;
};

}  // namespace vfs::host::memory
