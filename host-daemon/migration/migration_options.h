// What --migration-* chose: how the source names each inode for the destination, and
// what an entry the destination cannot re-establish does (virtiofsd's options).
#pragma once

namespace vfs::host::migration {

// --migration-mode: find-paths sends each inode's path inside the share (the destination
// opens it again); file-handles sends its file handle (same file system on both ends).
enum class Mode { kFindPaths, kFileHandles };
// --migration-on-error: abort fails the migration (CHECK_DEVICE_STATE reports failure);
// guest-error lets it complete and answers EIO for that node or handle afterwards.
enum class OnError { kAbort, kGuestError };

struct Options {
    Mode mode = Mode::kFindPaths;
    OnError on_error = OnError::kAbort;
    bool verify_handles = false;  // the source adds file handles; the destination compares
    bool confirm_paths = false;   // the source re-opens every path it found and compares
};

}  // namespace vfs::host::migration
