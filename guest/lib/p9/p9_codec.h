// 9P2000.L message encoding and bounded decoding: little-endian integers, strings as
// a 16-bit length plus bytes, qids of 13 bytes. The writer refuses to run past its buffer
// and the reader past the reply; both just remember the failure, so a message is built
// or parsed straight through and checked once at the end.
#pragma once

#include <stdint.h>

namespace vfs::guest::p9 {

inline constexpr uint32_t kHeaderBytes = 7;  // size[4] type[1] tag[2]
inline constexpr uint32_t kQidBytes = 13;

struct Qid {
    uint8_t type = 0;  // kQidDir etc.
    uint32_t version = 0;
    uint64_t path = 0;
};
inline constexpr uint8_t kQidDir = 0x80;
inline constexpr uint8_t kQidSymlink = 0x02;

class Writer {
  public:
    Writer(uint8_t* buf, uint32_t cap) : buf_(buf), cap_(cap) {}

    void u8(uint8_t v) { bytes(&v, 1); }
    void u16(uint16_t v) { le(v, 2); }
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void str(const char* s, uint32_t len) {
        if (len > 0xffff) ok_ = false;
        u16(static_cast<uint16_t>(len));
        bytes(s, len);
    }
    void bytes(const void* p, uint32_t n) {
        if (!ok_ || n > cap_ - len_) {
            ok_ = false;
            return;
        }
        __builtin_memcpy(buf_ + len_, p, n);
        len_ += n;
    }
    // Starts a message: size is patched by finish(), whatever follows is counted in it.
    void begin(uint8_t type, uint16_t tag) {
        len_ = 0;
        u32(0);
        u8(type);
        u16(tag);
    }
    // The message size (plus `trailing` bytes sent from another segment); 0 on overflow.
    uint32_t finish(uint32_t trailing = 0) {
        if (!ok_) return 0;
        const uint32_t total = len_ + trailing;
        for (int i = 0; i < 4; ++i)
            buf_[i] = static_cast<uint8_t>(total >> (8 * i));
        return len_;
    }
    bool ok() const { return ok_; }
    uint32_t size() const { return len_; }

  private:
    void le(uint64_t v, int n) {
        uint8_t b[8];
        for (int i = 0; i < n; ++i)
            b[i] = static_cast<uint8_t>(v >> (8 * i));
        bytes(b, static_cast<uint32_t>(n));
    }

    uint8_t* buf_;
    uint32_t cap_;
    uint32_t len_ = 0;
    bool ok_ = true;
};

class Reader {
  public:
    Reader() = default;
    Reader(const uint8_t* p, uint32_t len) : p_(p), len_(len) {}

    uint8_t u8() { return static_cast<uint8_t>(le(1)); }
    uint16_t u16() { return static_cast<uint16_t>(le(2)); }
    uint32_t u32() { return static_cast<uint32_t>(le(4)); }
    uint64_t u64() { return le(8); }
    Qid qid() {
        Qid q;
        q.type = u8();
        q.version = u32();
        q.path = u64();
        return q;
    }
    // A string in place (not NUL-terminated); empty and !ok() if it runs past the end.
    const char* str(uint16_t* len) {
        const uint16_t n = u16();
        if (!ok_ || n > len_ - pos_) {
            ok_ = false;
            *len = 0;
            return "";
        }
        const char* s = reinterpret_cast<const char*>(p_ + pos_);
        pos_ += n;
        *len = n;
        return s;
    }
    bool ok() const { return ok_; }
    uint32_t remaining() const { return ok_ ? len_ - pos_ : 0; }
    uint32_t pos() const { return pos_; }

  private:
    uint64_t le(uint32_t n) {
        if (!ok_ || n > len_ - pos_) {
            ok_ = false;
            return 0;
        }
        uint64_t v = 0;
        for (uint32_t i = 0; i < n; ++i)
            v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
        pos_ += n;
        return v;
    }

    const uint8_t* p_ = nullptr;
    uint32_t len_ = 0;
    uint32_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace vfs::guest::p9
