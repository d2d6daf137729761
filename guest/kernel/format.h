// printf-style formatting without libc, into a caller's sink. Supports the subset the
// kernel uses: flags '-' '0' '#', a width, length h/hh/l/ll/z, and d i u x X p s c %.
#pragma once

#include <stdarg.h>
#include <stddef.h>

namespace vfs::guest {

using FormatSink = void (*)(void* ctx, const char* s, size_t n);

void vformat(FormatSink sink, void* ctx, const char* fmt, va_list ap);

// snprintf semantics: returns the full length, writes at most cap-1 chars plus NUL.
size_t format_to(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace vfs::guest
