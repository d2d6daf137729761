// The kernel command line (QEMU `-append`), split into argv the way a shell would for
// plain words: runs of spaces and tabs separate arguments; no quoting.
#pragma once

#include <stddef.h>

namespace vfs::guest {

// Splits `buf` in place (writing NULs) into at most `max_args` arguments; returns argc.
int split_cmdline(char* buf, char** argv, int max_args);

// The value of "key=value" among argv, or nullptr.
const char* find_arg(int argc, char** argv, const char* key);

}  // namespace vfs::guest
