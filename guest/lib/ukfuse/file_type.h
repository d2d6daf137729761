// The file-type bits of a FUSE attr's mode. Spelled out here because <linux/stat.h>
// hides them when glibc is around (the hosted build) and <sys/stat.h> is not freestanding.
#pragma once

#include <stdint.h>

namespace vfs::guest::ukfuse {

inline constexpr uint32_t kTypeMask = 0170000;
inline constexpr uint32_t kTypeDir = 0040000;
inline constexpr uint32_t kTypeReg = 0100000;
inline constexpr uint32_t kTypeLink = 0120000;

}  // namespace vfs::guest::ukfuse
