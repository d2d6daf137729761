// Naming host inodes for a migration: the path of an fd inside the share (what the
// kernel's dentry says now, so it follows renames), a walk back from such a path that
// never leaves the share, and an inode's file handle.
#pragma once

#include <sys/stat.h>
#include <string>

#include "fs/file_handles.h"
#include "util/unique_fd.h"
#include "vfs/wire/result.h"

namespace vfs::host::migration {

// fd's path relative to the share root whose own path is `root_path` (both read through
// /proc/self/fd); ENOENT if the file was deleted or now lies outside the share, or the
// path is not clean (state_format.h).
vfs::wire::Result<std::string> relative_path(int proc_self_fd, const std::string& root_path,
                                             int fd);
// What /proc/self/fd/<fd> says.
vfs::wire::Result<std::string> fd_path(int proc_self_fd, int fd);
// An O_PATH fd on `path` below root_fd, one component at a time with O_NOFOLLOW: no
// symlink is followed and ".." is refused by the path check, so nothing outside the share
// is reached. The path must be clean (state_format.h), else EINVAL.
vfs::wire::Result<UniqueFd> open_beneath(int root_fd, const std::string& path);
// fd's file handle (name_to_handle_at); its mnt_id is left 0.
vfs::wire::Result<FileHandle> handle_of(int fd);
bool same_handle(const FileHandle& a, const FileHandle& b);
bool same_inode(const struct stat& a, const struct stat& b);

}  // namespace vfs::host::migration
