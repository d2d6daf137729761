// Scatter-gather byte streams over the segments of one request.
//
// A virtio descriptor chain arrives as a list of (pointer, length) segments, already
// translated into this process's address space. SgReader reads a request across the
// readable segments and SgWriter fills a reply across the writable ones, with every
// access bounds-checked: a short or hostile chain yields an error, never an access past
// a segment. Copies use __builtin_memcpy so the same code runs freestanding.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vfs/wire/result.h"

namespace vfs::wire {

// One contiguous piece of a buffer in this address space.
struct Segment {
    uint8_t* data = nullptr;
    uint32_t len = 0;
};

// Sequential, bounds-checked reads across readable segments.
class SgReader {
  public:
    SgReader() = default;
    SgReader(const Segment* segs, uint32_t count) : segs_(segs), count_(count) {
        for (uint32_t i = 0; i < count; ++i)
            remaining_ += segs[i].len;
        skip_empty();
    }

    // Bytes not yet consumed.
    uint64_t remaining() const { return remaining_; }

    // Copies exactly n bytes into dst, or fails with EINVAL consuming nothing.
    Status read(void* dst, uint64_t n) {
        if (n > remaining_) return Error{EINVAL};
        auto* out = static_cast<uint8_t*>(dst);
        while (n > 0) {
            const Segment& s = segs_[seg_];
            const uint64_t avail = s.len - off_;
            const uint64_t take = n < avail ? n : avail;
            __builtin_memcpy(out, s.data + off_, take);
            out += take;
            n -= take;
            advance(take);
        }
        return {};
    }

    template <class T>
    Status read_obj(T* out) {
        return read(out, sizeof(T));
    }

    // Skips n bytes, or fails with EINVAL consuming nothing.
    Status skip(uint64_t n) {
        if (n > remaining_) return Error{EINVAL};
        while (n > 0) {
            const uint64_t avail = segs_[seg_].len - off_;
            const uint64_t take = n < avail ? n : avail;
            n -= take;
            advance(take);
        }
        return {};
    }

    // If the next n bytes lie in one segment, returns a pointer to them (no copy) and
    // consumes them; otherwise nullptr and consumes nothing.
    const uint8_t* contiguous(uint64_t n) {
        skip_empty();
        if (n > remaining_ || seg_ >= count_) return nullptr;
        const Segment& s = segs_[seg_];
        if (n > s.len - off_) return nullptr;
        const uint8_t* p = s.data + off_;
        advance(n);
        return p;
    }

    // Copies bytes up to and including the first 'delim' found within the next max bytes
    // into dst (room for max bytes) and consumes them; returns how many were copied.
    // Fails with ENOENT, consuming nothing, if no delim lies within min(max, remaining())
    // bytes. Each source byte is read exactly once, so a peer that rewrites shared memory
    // meanwhile cannot make the copy disagree with what the caller then checks.
    Result<uint64_t> read_until(uint8_t delim, void* dst, uint64_t max) {
        SgReader probe = *this;
        auto* out = static_cast<uint8_t*>(dst);
        uint64_t n = 0;
        if (max > remaining_) max = remaining_;
        while (n < max) {
            probe.skip_empty();
            const Segment& s = probe.segs_[probe.seg_];
            uint64_t avail = s.len - probe.off_;
            if (avail > max - n) avail = max - n;
            const uint8_t* p = s.data + probe.off_;
            for (uint64_t i = 0; i < avail; ++i) {
                const uint8_t c = p[i];
                out[n++] = c;
                if (c == delim) {
                    probe.advance(i + 1);
                    *this = probe;
                    return n;
                }
            }
            probe.advance(avail);
        }
        return Error{ENOENT};
    }

    // Describes the next n bytes as segments (for zero-copy I/O into the chain) without
    // copying; writes at most max_out entries. Returns how many were written, or fails
    // with EINVAL if fewer than n bytes remain or more than max_out segments are needed.
    Result<uint32_t> take_segments(uint64_t n, Segment* out, uint32_t max_out) {
        return take_segments_to(n, max_out, [out](uint32_t i, uint8_t* data, uint32_t len) {
            out[i] = Segment{data, len};
        });
    }

    // The same, handing segment i to emit(i, data, len) (say, straight into a host iovec
    // array) instead of storing it; on failure emit may have run, but nothing is consumed.
    template <class Emit>
    Result<uint32_t> take_segments_to(uint64_t n, uint32_t max_out, Emit&& emit) {
        if (n > remaining_) return Error{EINVAL};
        SgReader probe = *this;
        uint32_t used = 0;
        while (n > 0) {
            probe.skip_empty();
            const Segment& s = probe.segs_[probe.seg_];
            const uint64_t avail = s.len - probe.off_;
            const uint64_t take = n < avail ? n : avail;
            if (used == max_out) return Error{E2BIG};
            emit(used++, s.data + probe.off_, static_cast<uint32_t>(take));
            n -= take;
            probe.advance(take);
        }
        *this = probe;
        return used;
    }

  private:
    void advance(uint64_t n) {
        off_ += n;
        remaining_ -= n;
        skip_empty();
    }
    void skip_empty() {
        while (seg_ < count_ && off_ == segs_[seg_].len) {
            ++seg_;
            off_ = 0;
        }
    }

    const Segment* segs_ = nullptr;
    uint32_t count_ = 0;
    uint32_t seg_ = 0;
    uint64_t off_ = 0;
    uint64_t remaining_ = 0;
};

// Sequential, bounds-checked writes across writable segments.
class SgWriter {
  public:
    SgWriter() = default;
    SgWriter(const Segment* segs, uint32_t count) : segs_(segs), count_(count) {
        for (uint32_t i = 0; i < count; ++i)
            capacity_ += segs[i].len;
        skip_empty();
    }

    uint64_t capacity() const { return capacity_; }
    uint64_t written() const { return written_; }
    uint64_t remaining() const { return capacity_ - written_; }

    // Writes exactly n bytes, or fails with ERANGE writing nothing.
    Status write(const void* src, uint64_t n) {
        if (n > remaining()) return Error{ERANGE};
        auto* in = static_cast<const uint8_t*>(src);
        while (n > 0) {
            const Segment& s = segs_[seg_];
            const uint64_t avail = s.len - off_;
            const uint64_t take = n < avail ? n : avail;
            __builtin_memcpy(s.data + off_, in, take);
            in += take;
            n -= take;
            advance(take);
        }
        return {};
    }

    template <class T>
    Status write_obj(const T& v) {
        return write(&v, sizeof(T));
    }

    // Writes n zero bytes, or fails with ERANGE writing nothing.
    Status zero(uint64_t n) {
        if (n > remaining()) return Error{ERANGE};
        while (n > 0) {
            const Segment& s = segs_[seg_];
            const uint64_t avail = s.len - off_;
            const uint64_t take = n < avail ? n : avail;
            __builtin_memset(s.data + off_, 0, take);
            n -= take;
            advance(take);
        }
        return {};
    }

    // Describes the next n writable bytes as segments (for zero-copy reads from a file
    // into the chain) and marks them written; same contract as SgReader::take_segments.
    Result<uint32_t> take_segments(uint64_t n, Segment* out, uint32_t max_out) {
        return take_segments_to(n, max_out, [out](uint32_t i, uint8_t* data, uint32_t len) {
            out[i] = Segment{data, len};
        });
    }

    // As SgReader::take_segments_to.
    template <class Emit>
    Result<uint32_t> take_segments_to(uint64_t n, uint32_t max_out, Emit&& emit) {
        if (n > remaining()) return Error{ERANGE};
        SgWriter probe = *this;
        uint32_t used = 0;
        while (n > 0) {
            probe.skip_empty();
            const Segment& s = probe.segs_[probe.seg_];
            const uint64_t avail = s.len - probe.off_;
            const uint64_t take = n < avail ? n : avail;
            if (used == max_out) return Error{E2BIG};
            emit(used++, s.data + probe.off_, static_cast<uint32_t>(take));
            n -= take;
            probe.advance(take);
        }
        *this = probe;
        return used;
    }

  private:
    void advance(uint64_t n) {
        off_ += n;
        written_ += n;
        skip_empty();
    }
    void skip_empty() {
        while (seg_ < count_ && off_ == segs_[seg_].len) {
            ++seg_;
            off_ = 0;
        }
    }

    const Segment* segs_ = nullptr;
    uint32_t count_ = 0;
    uint32_t seg_ = 0;
    uint64_t off_ = 0;
    uint64_t capacity_ = 0;
    uint64_t written_ = 0;
};

}  // namespace vfs::wire
