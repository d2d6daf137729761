// The frontend reporting its DAX mappings as guest memory, as QEMU 11.1 does: a
// BACKEND_SHMEM_MAP adds a memory region (the mapped file, fd_offset on) inside the
// device's shared-memory BAR, and QEMU answers the map first and only then commits the
// new memory layout, whose vhost listener sends the region to the backend: ADD_MEM_REG
// under CONFIGURE_MEM_SLOTS (at most max_mem_slots regions), else the whole table again
// with SET_MEM_TABLE (at most 8). An unmap withdraws it the same way (REM_MEM_REG). The
// region's mmap_offset is the file offset (QEMU adds the RAMBlock's fd_offset), its
// userspace_addr where the window maps it in this process.
//
// Runs on the backend channel's listener after its reply; a report the backend refuses
// is counted, as QEMU only logs a failed set_mem_table.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "frontend.h"

namespace vfs::frontend {

namespace pf = vu::protocol_feature;

ShmemReportCounters Frontend::shmem_reports() const {
    std::lock_guard lock(shmem_mu_);
    return report_counters_;
}

Status Frontend::send_mem_table_locked() {
    const auto& ram = ram_->regions();
    if (ram.size() + reported_.size() > vu::kMaxTableRegions) return Error{ENOSPC};
    vu::MemoryTable t;
    int fds[vu::kMaxTableRegions];
    for (const auto& r : ram) {
        fds[t.num_regions] = ram_->fd();
        t.regions[t.num_regions++] = r;
    }
    for (const auto& [off, r] : reported_) {
        fds[t.num_regions] = r.fd.get();
        t.regions[t.num_regions++] = r.region;
    }
    const uint32_t size = static_cast<uint32_t>(vu::kMemoryTableHeaderBytes +
                                                t.num_regions * sizeof(vu::MemoryRegion));
    return client_->send(vu::Request::kSetMemTable, &t, size, fds, t.num_regions);
}

void Frontend::report_shmem(const vu::Message& msg, uint64_t result) {
    if (!opts_.report_shmem || !window_ || result != 0 || msg.hdr.size != sizeof(vu::ShmemMap))
        return;
    const auto req = static_cast<vu::BackendRequest>(msg.hdr.request);
    const auto m = vu::payload_as<vu::ShmemMap>(msg.payload);
    const bool slots = (neg_.protocol_features & pf::kConfigureMemSlots) != 0;
    std::lock_guard lock(shmem_mu_);
    if (req == vu::BackendRequest::kShmemMap) {
        if (msg.nfds != 1) return;
        ReportedRegion r;
        r.region.guest_phys_addr = kShmemGpa + m.shm_offset;
        r.region.memory_size = m.len;
        r.region.userspace_addr = reinterpret_cast<uint64_t>(window_->base() + m.shm_offset);
        r.region.mmap_offset = m.fd_offset;
        r.fd.reset(::fcntl(msg.fds[0].get(), F_DUPFD_CLOEXEC, 0));
        if (!r.fd.valid()) {
            ++report_counters_.failed;
            return;
        }
        const vu::MemoryRegion region = r.region;
        auto [it, added] = reported_.insert_or_assign(m.shm_offset, std::move(r));
        Status s;
        if (slots) {
            // QEMU cannot add a region past the backend's slots (RAM counts too).
            if (ram_->regions().size() + reported_.size() > neg_.max_mem_slots) {
                s = Error{ENOSPC};
            } else {
                vu::SingleMemoryRegion one;
                one.region = region;
                const int fd = it->second.fd.get();
                s = client_->send_obj(vu::Request::kAddMemReg, one, &fd, 1);
            }
        } else {
            s = send_mem_table_locked();
        }
        if (!s) {
            reported_.erase(it);
            ++report_counters_.failed;
        } else {
            ++report_counters_.added;
        }
    } else if (req == vu::BackendRequest::kShmemUnmap) {
        auto it = reported_.find(m.shm_offset);
        if (it == reported_.end()) return;  // its report had failed
        vu::SingleMemoryRegion one;
        one.region = it->second.region;
        reported_.erase(it);
        Status s =
            slots ? client_->send_obj(vu::Request::kRemMemReg, one) : send_mem_table_locked();
        if (!s) {
            ++report_counters_.failed;
        } else {
            ++report_counters_.removed;
        }
    }
    report_counters_.live = reported_.size();
}

}  // namespace vfs::frontend
