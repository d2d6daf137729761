// A cgroup v1 memory cgroup made for one benchmark run, so a daemon gets a small page-cache
// share of its own: page cache is charged to the cgroup of the task that reads it in, and
// a cgroup at its limit reclaims its own pages first. Created under the benchmark's own
// memory cgroup (so it stays inside whatever limits the caller already has) and removed
// again, checked, when done.
#pragma once

#include <stdint.h>

#include <map>
#include <string>

namespace vfs::bench {

class MemoryCgroup {
  public:
    MemoryCgroup() = default;
    MemoryCgroup(const MemoryCgroup&) = delete;
    MemoryCgroup& operator=(const MemoryCgroup&) = delete;
    ~MemoryCgroup() { remove(); }

    // The directory of this process's own v1 memory cgroup, or empty (and *why set) when
    // there is no v1 memory controller mounted at /sys/fs/cgroup/memory.
    static std::string own_directory(std::string* why);

    // Makes parent/name with memory.limit_in_bytes = limit_bytes. Empty on success, else
    // why not (no controller, not permitted, the limit did not take).
    std::string create(const std::string& parent, const std::string& name, uint64_t limit_bytes);
    const std::string& path() const { return path_; }
    // The file a task writes its pid to in order to join.
    std::string procs_file() const { return path_ + "/cgroup.procs"; }

    // memory.stat as name -> value (bytes or counts); empty if unreadable.
    std::map<std::string, uint64_t> stat() const;
    // One number file (memory.usage_in_bytes, memory.failcnt, ...); 0 if unreadable.
    uint64_t read_number(const char* file) const;

    // rmdir, retried while the last task finishes leaving. Empty when the directory is
    // gone (or was never made), else why it is still there.
    std::string remove();

  private:
    std::string path_;
};

// Writes this process's pid to procs_file: the caller and the threads and children it
// makes from then on are in that cgroup. False (errno set) if the write failed.
bool join_cgroup(const std::string& procs_file);

// sync, then drops the clean page cache, dentries and inodes machine-wide, so no page of
// the file is cached (and charged) outside the cgroup. Empty on success, else why not.
std::string drop_page_cache();

}  // namespace vfs::bench
