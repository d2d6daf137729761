// The legacy "-o key[=value],..." options of QEMU's C virtiofsd (which Rust virtiofsd
// still reads, deprecated). Each -o list is applied, left to right, on top of the --flags,
// so later options win, like in both virtiofsd implementations.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"

namespace vfs::host::cli {

// Applies one -o argument ("source=/srv,cache=none,xattr"). Returns an error message for
// an unknown option or a bad value; notes for the user go to warnings.
std::optional<std::string> apply_compat_options(const std::string& list, Options& o,
                                                std::vector<std::string>& warnings);

}  // namespace vfs::host::cli
