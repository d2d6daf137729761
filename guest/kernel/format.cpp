// The formatter behind kprintf (see format.h).
#include "kernel/format.h"

#include <stdint.h>

namespace vfs::guest {
namespace {

struct Spec {
    bool left = false, zero = false, alt = false;
    unsigned width = 0;
    int length = 0;  // -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t
};

void pad(FormatSink sink, void* ctx, char c, size_t n) {
    for (size_t i = 0; i < n; ++i)
        sink(ctx, &c, 1);
}

void emit_field(FormatSink sink, void* ctx, const Spec& sp, const char* prefix, const char* body,
                size_t len) {
    size_t plen = 0;
    while (prefix[plen])
        ++plen;
    const size_t total = plen + len;
    const size_t fill = sp.width > total ? sp.width - total : 0;
    if (!sp.left && !sp.zero) pad(sink, ctx, ' ', fill);
    sink(ctx, prefix, plen);
    if (!sp.left && sp.zero) pad(sink, ctx, '0', fill);
    sink(ctx, body, len);
    if (sp.left) pad(sink, ctx, ' ', fill);
}

void emit_number(FormatSink sink, void* ctx, const Spec& sp, uint64_t v, bool negative,
                 unsigned base, bool upper, const char* prefix) {
    char buf[24];
    size_t i = sizeof(buf);
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        buf[--i] = digits[v % base];
        v /= base;
    } while (v != 0);
    emit_field(sink, ctx, sp, negative ? "-" : prefix, buf + i, sizeof(buf) - i);
}

}  // namespace

void vformat(FormatSink sink, void* ctx, const char* fmt, va_list ap) {
    while (*fmt) {
        if (*fmt != '%') {
            const char* start = fmt;
            while (*fmt && *fmt != '%')
                ++fmt;
            sink(ctx, start, static_cast<size_t>(fmt - start));
            continue;
        }
        ++fmt;
        Spec sp;
        for (;; ++fmt) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '#')
                sp.alt = true;
            else
                break;
        }
        while (*fmt >= '0' && *fmt <= '9')
            sp.width = sp.width * 10 + static_cast<unsigned>(*fmt++ - '0');
        for (;; ++fmt) {
            if (*fmt == 'h')
                --sp.length;
            else if (*fmt == 'l')
                ++sp.length;
            else if (*fmt == 'z')
                sp.length = 2;
            else
                break;
        }
        const char conv = *fmt ? *fmt++ : '\0';
        switch (conv) {
            case 'd':
            case 'i': {
                int64_t v =
                    sp.length >= 1 ? static_cast<int64_t>(va_arg(ap, long long)) : va_arg(ap, int);
                if (sp.length == -1) v = static_cast<short>(v);
                if (sp.length == -2) v = static_cast<signed char>(v);
                const uint64_t mag =
                    v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
                emit_number(sink, ctx, sp, mag, v < 0, 10, false, "");
                break;
            }
            case 'u':
            case 'x':
            case 'X': {
                uint64_t v = sp.length >= 1 ? static_cast<uint64_t>(va_arg(ap, unsigned long long))
                                            : va_arg(ap, unsigned);
                if (sp.length == -1) v = static_cast<uint16_t>(v);
                if (sp.length == -2) v = static_cast<uint8_t>(v);
                const bool hex = conv != 'u';
                emit_number(sink, ctx, sp, v, false, hex ? 16 : 10, conv == 'X',
                            hex && sp.alt && v != 0 ? (conv == 'X' ? "0X" : "0x") : "");
                break;
            }
            case 'p':
                emit_number(sink, ctx, sp, reinterpret_cast<uintptr_t>(va_arg(ap, void*)), false,
                            16, false, "0x");
                break;
            case 's': {
                const char* s = va_arg(ap, const char*);
                if (!s) s = "(null)";
                size_t n = 0;
                while (s[n])
                    ++n;
                emit_field(sink, ctx, sp, "", s, n);
                break;
            }
            case 'c': {
                const char c = static_cast<char>(va_arg(ap, int));
                emit_field(sink, ctx, sp, "", &c, 1);
                break;
            }
            case '%':
                sink(ctx, "%", 1);
                break;
            default:  // unknown conversion: show it rather than guess its argument
                sink(ctx, "%?", 2);
                break;
        }
    }
}

namespace {
struct BufferSink {
    char* buf;
    size_t cap;
    size_t len;
};
void buffer_sink(void* ctx, const char* s, size_t n) {
    auto* b = static_cast<BufferSink*>(ctx);
    for (size_t i = 0; i < n; ++i, ++b->len) {
        if (b->len + 1 < b->cap) b->buf[b->len] = s[i];
    }
}
}  // namespace

size_t format_to(char* buf, size_t cap, const char* fmt, ...) {
    BufferSink b{buf, cap, 0};
    va_list ap;
    va_start(ap, fmt);
    vformat(buffer_sink, &b, fmt, ap);
    va_end(ap);
    if (cap) buf[b.len < cap ? b.len : cap - 1] = '\0';
    return b.len;
}

}  // namespace vfs::guest
