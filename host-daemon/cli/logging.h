// Logging set-up: spdlog's default logger, to stderr or to syslog.
#pragma once

#include <spdlog/common.h>

namespace vfs::host::cli {

// Installs (or replaces) the default logger.
void setup_logging(spdlog::level::level_enum level, bool to_syslog);

}  // namespace vfs::host::cli
