// The DAX window of the in-process frontend: what QEMU 11.1 does for a device with a
// shared-memory region. The window is reserved as PROT_NONE address space of the size the
// backend reported (GET_SHMEM_CONFIG, shmid 0); BACKEND_SHMEM_MAP maps the file the
// backend sent over the range (mmap MAP_FIXED|MAP_SHARED, read-only or read-write as the
// flags say) and BACKEND_SHMEM_UNMAP turns it back into PROT_NONE.
//
// Checked as QEMU checks: the region exists, the range lies in it, a map may not overlap
// a live mapping, an unmap must name one whole mapping. A refusal is a non-zero reply;
// nothing is mapped then.
//
// With QemuShmemRules (the default) also what QEMU 11.1.3 refuses beyond that (see
// qemu_refuses() in dax_window.cpp): a fd not open read-write (it maps every range
// PROT_READ|PROT_WRITE, MAP_SHARED, whatever the flags say) and a range past the file's
// end (or any range of an empty file, which QEMU would extend to the range's end).
// Without them it is a front-end that honours the read-only flag and maps past EOF.
//
// Use: the hosted guest and tests read and write base()[0, size()) like the guest's view of
// the device's BAR. Touching a range that is not mapped faults (SIGSEGV), and a mapped
// range past the end of its file raises SIGBUS, as in a real VM.
#pragma once

#include <stdint.h>

#include <map>
#include <memory>
#include <mutex>

#include "vhost_user/connection.h"
#include "vhost_user/messages.h"

namespace vfs::frontend {

struct DaxWindowCounters {
    uint64_t maps = 0;     // BACKEND_SHMEM_MAPs served
    uint64_t unmaps = 0;   // BACKEND_SHMEM_UNMAPs served
    uint64_t refused = 0;  // requests refused (nothing changed)
    uint64_t live = 0;     // mappings now
};

enum class QemuShmemRules : bool { kOff, kOn };

class DaxWindow {
  public:
    // Reserves size bytes (a non-zero multiple of 4 KiB, at most 16 GiB).
    static vfs::wire::Result<std::unique_ptr<DaxWindow>> create(
        uint64_t size, QemuShmemRules rules = QemuShmemRules::kOn);
    ~DaxWindow();
    DaxWindow(const DaxWindow&) = delete;
    DaxWindow& operator=(const DaxWindow&) = delete;

    uint8_t* base() const { return base_; }
    uint64_t size() const { return size_; }

    // Serves one backend-channel request (SHMEM_MAP or SHMEM_UNMAP); returns the reply's
    // u64: 0 on success, else an errno. Any other request is refused.
    uint64_t serve(const vfs::host::vhost_user::Message& msg);

    DaxWindowCounters counters() const;
    // True if [offset, offset+len) is wholly one live mapping.
    bool is_mapped(uint64_t offset, uint64_t len) const;

  private:
    DaxWindow(uint8_t* base, uint64_t size, QemuShmemRules rules)
        : base_(base), size_(size), rules_(rules) {}
    uint64_t map(const vfs::host::vhost_user::ShmemMap& m, int fd);
    uint64_t unmap(const vfs::host::vhost_user::ShmemMap& m);
    uint64_t refuse(int err);

    uint8_t* const base_;
    const uint64_t size_;
    const QemuShmemRules rules_;
    mutable std::mutex mu_;
    std::map<uint64_t, uint64_t> live_;  // offset -> len, disjoint
    DaxWindowCounters counters_;
};

}  // namespace vfs::frontend
