// The process's /proc/self/fd directory as one O_PATH descriptor, for every reopen
// through a magic link (/proc/self/fd/N) and every fd-type check.
//
// Inside --sandbox=namespace or chroot no /proc path exists any more: the sandbox opens
// this directory before it changes the root and hands it over here, and everything that
// reaches /proc/self/fd goes through it. Outside a sandbox it is opened on first use.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

namespace vfs::host {

namespace detail {
inline std::atomic<int>& proc_self_fd_slot() {
    static std::atomic<int> fd{-1};
    return fd;
}
}  // namespace detail

// The directory's fd, or -1 with errno set when /proc cannot be opened.
inline int proc_self_fd() {
    auto& slot = detail::proc_self_fd_slot();
    int fd = slot.load(std::memory_order_acquire);
    if (fd >= 0) return fd;
    const int opened = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (opened < 0) return -1;
    if (slot.compare_exchange_strong(fd, opened, std::memory_order_acq_rel)) return opened;
    ::close(opened);  // another thread got there first
    return fd;
}

// Takes ownership of fd as the process's /proc/self/fd (the sandbox's, opened before the
// root changed). Called once, before any thread starts.
inline void use_proc_self_fd(int fd) {
    const int old = detail::proc_self_fd_slot().exchange(fd, std::memory_order_acq_rel);
    if (old >= 0 && old != fd) ::close(old);
}

}  // namespace vfs::host
