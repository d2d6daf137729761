#include "migration/host_paths.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "migration/state_format.h"

namespace vfs::host::migration {

using vfs::wire::Error;
using vfs::wire::Result;

namespace {
Error errno_error() {
    return Error{errno};
}
}  // namespace

Result<std::string> fd_path(int proc_self_fd, int fd) {
    char name[16];
    std::snprintf(name, sizeof(name), "%d", fd);
    char buf[PATH_MAX];
    const ssize_t n = ::readlinkat(proc_self_fd, name, buf, sizeof(buf));
    if (n < 0) return errno_error();
    if (static_cast<size_t>(n) >= sizeof(buf)) return Error{ENAMETOOLONG};
    return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> relative_path(int proc_self_fd, const std::string& root_path, int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_error();
    // Unlinked: the link reads "... (deleted)" and no path leads to the file any more.
    if (!S_ISDIR(st.st_mode) && st.st_nlink == 0) return Error{ENOENT};
    auto p = fd_path(proc_self_fd, fd);
    if (!p) return Error{p.error()};
    if (p->empty() || p->front() != '/') return Error{ENOENT};  // another namespace's
    std::string rel;
    if (root_path == "/") {
        rel = p->substr(1);
    } else {
        if (p->size() <= root_path.size() + 1 || p->compare(0, root_path.size(), root_path) != 0 ||
            (*p)[root_path.size()] != '/')
            return Error{ENOENT};
        rel = p->substr(root_path.size() + 1);
    }
    if (!is_clean_relative_path(rel)) return Error{ENOENT};
    return rel;
}

Result<UniqueFd> open_beneath(int root_fd, const std::string& path) {
    if (!is_clean_relative_path(path)) return Error{EINVAL};
    UniqueFd cur;
    int at = root_fd;
    size_t start = 0;
    while (start < path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        const std::string name = path.substr(start, end - start);
        // O_NOFOLLOW with O_PATH opens a symlink itself; the next component below it
        // then fails with ENOTDIR, so a link is never walked through.
        const int fd = ::openat(at, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return errno_error();
        cur.reset(fd);
        at = fd;
        start = end + 1;
    }
    return cur;
}

Result<FileHandle> handle_of(int fd) {
    struct {
        file_handle head;
        unsigned char bytes[FileHandle::kMaxBytes];
    } buf{};
    buf.head.handle_bytes = FileHandle::kMaxBytes;
    int mnt = 0;
    if (::name_to_handle_at(fd, "", &buf.head, &mnt, AT_EMPTY_PATH) != 0) return errno_error();
    FileHandle h;
    h.type = buf.head.handle_type;
    h.size = buf.head.handle_bytes;
    std::memcpy(h.bytes, buf.head.f_handle, h.size);
    return h;
}

bool same_handle(const FileHandle& a, const FileHandle& b) {
    return a.type == b.type && a.size == b.size && std::memcmp(a.bytes, b.bytes, a.size) == 0;
}

bool same_inode(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace vfs::host::migration
