// Result<T>: a value or a Linux errno, for code that may not throw (common/ and guest/).
//
// Errors are positive errno numbers from the kernel's uapi headers, so a failed parse can
// become a FUSE error reply (-errno) without translation. Never allocates.
#pragma once

#include <linux/errno.h>

#include <type_traits>
#include <utility>

namespace vfs::wire {

// A failure: a positive errno value.
struct Error {
    int code;
};

template <class T>
class [[nodiscard]] Result {
    static_assert(std::is_default_constructible_v<T>, "Result<T> needs a default T");

  public:
    Result(T value) : value_(std::move(value)), error_(0) {}          // NOLINT: implicit by design
    Result(Error e) : value_(), error_(e.code > 0 ? e.code : EIO) {}  // NOLINT

    bool ok() const { return error_ == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return error_; }

    T& value() { return value_; }
    const T& value() const { return value_; }
    T* operator->() { return &value_; }
    const T* operator->() const { return &value_; }
    T& operator*() { return value_; }
    const T& operator*() const { return value_; }

  private:
    T value_;
    int error_;
};

// Result<void>: success or an errno.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() : error_(0) {}
    Result(Error e) : error_(e.code > 0 ? e.code : EIO) {}  // NOLINT

    bool ok() const { return error_ == 0; }
    explicit operator bool() const { return ok(); }
    int error() const { return error_; }

  private:
    int error_;
};

using Status = Result<void>;

}  // namespace vfs::wire
