// Flags whose feature virtiofsd-cxx does not have yet (sandboxing, seccomp, xattr
// mapping, ID mapping, migration, security labels, capability changes). They parse, so
// the command lines of both virtiofsd implementations are understood, and are then
// refused here with a message that names the flag and says what to do instead: never
// silently ignored.
#pragma once

#include <string>
#include <vector>

#include "cli/options.h"

namespace vfs::host::cli {

// One message per unbuilt feature asked for; empty when the options can run.
std::vector<std::string> unbuilt_feature_errors(const Options& o);

// Warnings for defaults that differ from virtiofsd's because the feature is missing
// (virtiofsd defaults to --sandbox=namespace and --seccomp=kill; we run without both).
std::vector<std::string> missing_default_warnings(const Options& o);

}  // namespace vfs::host::cli
