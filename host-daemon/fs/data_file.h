// The capability to move data to or from one open file: what Filesystem::data_file grants
// for one operation, and the only way the FUSE server reaches a host fd.
//
// A grant names what it is for. A wrapper filters by that (ReadOnlyFs refuses kWrite and
// kAllocate with EROFS), and the I/O engine refuses to do with a grant what it was not
// granted for, so a READ's grant can never write. The grant keeps the open file alive
// until the operation completes, even if the guest releases the handle meanwhile.
#pragma once

#include <memory>

namespace vfs::host {

enum class DataAccess : unsigned char {
    kRead,      // READ (and, with DAX, a read-only mapping)
    kWrite,     // WRITE (and, with DAX, a writable mapping)
    kSync,      // FSYNC, FSYNCDIR: any open handle, file or directory
    kAllocate,  // FALLOCATE, hole punching included
};

class DataFile {
  public:
    DataFile() = default;
    DataFile(int fd, bool direct, DataAccess access, std::shared_ptr<const void> keep)
        : fd_(fd), direct_(direct), access_(access), keep_(std::move(keep)) {}

    // The host fd, for the I/O engine's syscalls only.
    int fd() const { return fd_; }
    // Opened O_DIRECT: its I/O always waits for the device.
    bool direct() const { return direct_; }
    bool allows(DataAccess a) const { return fd_ >= 0 && access_ == a; }

  private:
    int fd_ = -1;
    bool direct_ = false;
    DataAccess access_ = DataAccess::kRead;
    std::shared_ptr<const void> keep_;  // the open file; its fd closes after the last grant
};

}  // namespace vfs::host
