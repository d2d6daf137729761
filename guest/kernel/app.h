// The contract between the kernel and the one app linked into an image: kernel_start
// calls app_main once everything is up; 0 means pass (ExitCode::kPass), anything else
// fail (ExitCode::kFail).
#pragma once

namespace vfs::guest {
int app_main(int argc, char** argv);
}
