// Captures the lines guest code logs through vfs::guest::log() in host tests.
#pragma once

#include <string>
#include <vector>

namespace vfs::guest::testing {

std::vector<std::string>& log_lines();
bool logged(const std::string& needle);  // any captured line contains needle

}  // namespace vfs::guest::testing
