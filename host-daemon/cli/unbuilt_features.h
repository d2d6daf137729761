// Flags whose feature virtiofsd-cxx does not have yet (none at present). Such flags
// parse, so the command lines of both virtiofsd implementations are understood, and are
// then refused here with a message that names the flag and says what to do instead:
// never silently ignored.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace vfs::host::cli {

// One message per unbuilt feature asked for; empty when the options can run.
std::vector<std::string> unbuilt_feature_errors(const Options& o);

}  // namespace vfs::host::cli
