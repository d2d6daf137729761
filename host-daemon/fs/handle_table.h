// Open files and directories, by the FUSE file handle (fh) given to the guest.
//
// Like node ids, handles are opaque numbers: a forged fh finds nothing. A handle keeps
// its inode alive and owns a real (non-O_PATH) fd. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "fs/dir_batch.h"
#include "fs/fd_budget.h"
#include "fs/inode_table.h"
#include "util/unique_fd.h"

namespace vfs::host {

// Where a directory listing stands: the batch of getdents64 records last read, and the
// offset of the first one not yet sent.
struct DirCursor {
    DirBatch batch;  // taken on the first READDIR; empty past DirBatch::kMaxKept
    long len = 0;
    long pos = 0;
    uint64_t offset = 0;
};

// What only an open directory needs.
struct DirStream {
    std::mutex mu;     // serializes READDIRs on the stream
    DirCursor cursor;  // guarded by mu
};

// An open file or directory. A guest may hold as many open files as the fd budget allows,
// so a file's handle carries no directory state: that lives out of line, made only for
// directories (it was 72 of a file handle's 112 bytes, 80 of its 144-byte allocation).
struct Handle {
    explicit Handle(bool dir) : is_dir(dir), dir_stream(dir ? new DirStream : nullptr) {}

    UniqueFd fd;
    const bool is_dir;
    bool direct = false;       // opened O_DIRECT
    FdBudget::Token fd_token;  // held while `fd` is open
    InodeRef inode;
    const std::unique_ptr<DirStream> dir_stream;  // directories only
};

using HandleRef = std::shared_ptr<Handle>;

class HandleTable {
  public:
    uint64_t add(HandleRef h);
    HandleRef get(uint64_t fh) const;
    // Removes and returns the handle if it is of the kind asked for (a directory or not);
    // nullptr, and the table unchanged, if it is unknown or of the other kind.
    HandleRef remove(uint64_t fh, bool dir);
    size_t size() const;

    // Migration (migration/): every handle under the table's lock, the next fh, and a
    // handle put back under its own fh (false if taken or 0).
    template <class Fn>
    void for_each(Fn&& fn) const {
        std::lock_guard lock(mu_);
        for (const auto& [fh, h] : handles_)
            fn(fh, h);
    }
    uint64_t next_fh() const;
    bool restore(uint64_t fh, HandleRef h, uint64_t next_fh);
    // Drops every handle (their fds close once no request still uses them).
    void clear();

  private:
    mutable std::mutex mu_;
    std::unordered_map<uint64_t, HandleRef> handles_;
    uint64_t next_ = 1;
};

}  // namespace vfs::host
