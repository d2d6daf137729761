// --uid-map/--gid-map (the sandbox's user namespace) and --translate-uid/--translate-gid
// (the daemon's own translation): checked at start-up, so a bad rule stops the daemon with
// a message naming the flag, the rule and its bad part.
#pragma once

#include <optional>
#include <string>

#include "cli/options.h"
#include "sandbox/id_map.h"

namespace vfs::host::cli {

// Parses the translation rules into o.fs.ids and checks the maps and how they combine
// with the other flags. An error message, or nothing.
std::optional<std::string> apply_id_options(Options& o);

// The maps for the sandbox (already checked by apply_id_options).
sandbox::IdMaps sandbox_id_maps(const Options& o);

}  // namespace vfs::host::cli
