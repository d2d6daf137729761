// The getdents64 buffer an open directory keeps between READDIRs, so that a listing
// resumes in the records already read instead of seeking and reading again. All kept
// buffers together are capped: a guest holding many open directories could otherwise
// make the daemon keep 32 KiB for each (at the fd budget, about 29 GiB). Past the cap a
// READDIR reads into a per-thread scratch buffer and the next one seeks again.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace vfs::host {

class DirBatch {
  public:
    static constexpr size_t kBytes = 32 * 1024;
    static constexpr size_t kMaxKept = 2048;  // 64 MiB across the daemon

    DirBatch() = default;
    DirBatch(DirBatch&& o) noexcept : buf_(std::move(o.buf_)) {}
    DirBatch& operator=(DirBatch&& o) noexcept {
        release();
        buf_ = std::move(o.buf_);
        return *this;
    }
    ~DirBatch() { release(); }

    // A kept buffer, or an empty DirBatch when kMaxKept are already kept.
    static DirBatch take() {
        DirBatch b;
        if (kept_.fetch_add(1, std::memory_order_relaxed) >= kMaxKept) {
            kept_.fetch_sub(1, std::memory_order_relaxed);
            return b;
        }
        b.buf_.reset(new char[kBytes]);
        return b;
    }
    static size_t kept() { return kept_.load(std::memory_order_relaxed); }

    explicit operator bool() const { return buf_ != nullptr; }
    char* data() { return buf_.get(); }
    void release() {
        if (buf_) kept_.fetch_sub(1, std::memory_order_relaxed);
        buf_.reset();
    }

  private:
    static inline std::atomic<size_t> kept_{0};
    std::unique_ptr<char[]> buf_;
};

}  // namespace vfs::host
