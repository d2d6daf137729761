// A cap on the fds the filesystem keeps open for the guest (O_PATH inodes, open files).
//
// Without it a guest that looks up or opens files without end fills the process's fd
// table, and the next fd the vhost-user frontend sends (a call eventfd, a memory region)
// cannot be received, which ends the connection for everyone. With it the guest gets
// EMFILE and the daemon keeps a reserve for its own fds.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace vfs::host {

class FdBudget {
  public:
    explicit FdBudget(int64_t limit) : left_(limit) {}

    // The right to keep one fd open; released when destroyed. Empty when spent.
    class Token {
      public:
        Token() = default;
        Token(Token&& o) noexcept : budget_(std::exchange(o.budget_, nullptr)) {}
        Token& operator=(Token&& o) noexcept {
            if (this != &o) {
                release();
                budget_ = std::exchange(o.budget_, nullptr);
            }
            return *this;
        }
        Token(const Token&) = delete;
        Token& operator=(const Token&) = delete;
        ~Token() { release(); }
        explicit operator bool() const { return budget_ != nullptr; }

      private:
        friend class FdBudget;
        explicit Token(FdBudget* b) : budget_(b) {}
        void release() {
            if (budget_) budget_->left_.fetch_add(1, std::memory_order_relaxed);
            budget_ = nullptr;
        }
        FdBudget* budget_ = nullptr;
    };

    Token take() {
        if (left_.fetch_sub(1, std::memory_order_relaxed) <= 0) {
            left_.fetch_add(1, std::memory_order_relaxed);
            return Token();
        }
        return Token(this);
    }

    int64_t left() const { return left_.load(std::memory_order_relaxed); }

  private:
    std::atomic<int64_t> left_;
};

}  // namespace vfs::host
