#include "cli/logging.h"

#include <syslog.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>

namespace vfs::host::cli {

void setup_logging(spdlog::level::level_enum level, bool to_syslog) {
    constexpr const char* kName = "virtiofsd-cxx";
    spdlog::drop(kName);  // main switches to syslog once --daemonize detached
    if (to_syslog) {
        // syslog adds time, host and pid itself; the sink sends the bare message. LOG_NDELAY
        // connects to /dev/log now: inside the sandbox that path no longer exists.
        spdlog::set_default_logger(
            spdlog::syslog_logger_mt(kName, kName, LOG_PID | LOG_NDELAY, LOG_DAEMON));
    } else {
        spdlog::set_default_logger(spdlog::stderr_color_mt(kName));
        spdlog::set_pattern("[%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ virtiofsd-cxx] %v",
                            spdlog::pattern_time_type::utc);
    }
    spdlog::set_level(level);
    // A daemon's log is read after something went wrong: never lose the last lines.
    spdlog::flush_on(spdlog::level::trace);
}

}  // namespace vfs::host::cli
