// Host implementation of kernel/log.h: formats with libc and keeps the lines for tests.
#include "test_log.h"

#include <cstdarg>
#include <cstdio>

#include "kernel/log.h"

namespace vfs::guest {

void log(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    testing::log_lines().emplace_back(buf);
}

namespace testing {

std::vector<std::string>& log_lines() {
    static std::vector<std::string> lines;
    return lines;
}

bool logged(const std::string& needle) {
    for (const auto& l : log_lines()) {
        if (l.find(needle) != std::string::npos) return true;
    }
    return false;
}

}  // namespace testing
}  // namespace vfs::guest
