// bench-native's vfs.h: the same calls as plain Linux syscalls on a host directory, so
// the bench app's unchanged workloads give the "native" reference row. vfs_mount(tag,
// path) takes the host directory as its tag (tag=/some/dir on the command line); paths
// under the mount point are rewritten to that directory. One mount, as the bench uses.
// Errors are -errno, as everywhere in vfs.h. attach_* report one "device" (the host).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "apps/bench/backend_name.h"
#include "apps/bench/workloads.h"
#include "apps/common/attach.h"
#include "lib/vfs/vfs.h"

namespace {

std::string g_mount;  // the guest-side mount point, e.g. "/share"
std::string g_root;   // the host directory behind it

constexpr int kMaxDirs = 64;
DIR* g_dirs[kMaxDirs];

// The host path for a vfs path, or "" if it is not under the mount.
std::string host_path(const char* path) {
    if (g_mount.empty() || strncmp(path, g_mount.c_str(), g_mount.size()) != 0) return {};
    const char* rest = path + g_mount.size();
    if (*rest != '\0' && *rest != '/') return {};
    return g_root + rest;
}

int64_t result(int64_t r) {
    return r < 0 ? -errno : r;
}

}  // namespace

namespace vfs::guest {
namespace apps {
int attach_virtio_fs(int, char**) {
    return 1;
}
int attach_virtio_9p(int, char**) {
    return 0;
}
}  // namespace apps
namespace bench {
const char* backend_name(const char*) {
    return "native";
}
}  // namespace bench
}  // namespace vfs::guest

extern "C" {

int vfs_mount(const char* tag, const char* path) {
    struct stat st;
    if (stat(tag, &st) != 0) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
    g_root = tag;
    g_mount = path;
    return 0;
}

// No DAX window on the host: any option (the bench passes only dax=always) is refused.
// No window and no buffering here: "dax=never" (what the bench passes without DAX) is what
// a plain directory is; any other option is refused.
int vfs_mount_opts(const char* tag, const char* path, const char* opts) {
    if (opts && *opts && strcmp(opts, "dax=never") != 0) return -ENODEV;
    return vfs_mount(tag, path);
}

int vfs_mount_dax(const char*) {
    return 0;
}

int vfs_umount(const char* path) {
    if (g_mount != path) return -EINVAL;
    g_mount.clear();
    return 0;
}

int vfs_open(const char* path, int flags, uint32_t mode) {
    const std::string p = host_path(path);
    if (p.empty()) return -ENOENT;
    return static_cast<int>(result(open(p.c_str(), flags | O_CLOEXEC, mode)));
}

int vfs_close(int fd) {
    return static_cast<int>(result(close(fd)));
}

int64_t vfs_pread(int fd, void* buf, uint64_t len, int64_t off) {
    return result(pread(fd, buf, len, off));
}

int64_t vfs_pwrite(int fd, const void* buf, uint64_t len, int64_t off) {
    return result(pwrite(fd, buf, len, off));
}

int vfs_fsync(int fd) {
    if (fd >= 1000 && fd - 1000 < kMaxDirs && g_dirs[fd - 1000]) fd = dirfd(g_dirs[fd - 1000]);
    return static_cast<int>(result(fsync(fd)));
}

// The vfs API's whence values are Linux's (VFS_SEEK_SET.. VFS_SEEK_HOLE = 0..4).
int64_t vfs_lseek(int fd, int64_t off, int whence) {
    const off_t r = lseek(fd, static_cast<off_t>(off), whence);
    return r < 0 ? -errno : static_cast<int64_t>(r);
}

int vfs_mkdir(const char* path, uint32_t mode) {
    const std::string p = host_path(path);
    return p.empty() ? -ENOENT : static_cast<int>(result(mkdir(p.c_str(), mode)));
}

int vfs_rmdir(const char* path) {
    const std::string p = host_path(path);
    return p.empty() ? -ENOENT : static_cast<int>(result(rmdir(p.c_str())));
}

int vfs_unlink(const char* path) {
    const std::string p = host_path(path);
    return p.empty() ? -ENOENT : static_cast<int>(result(unlink(p.c_str())));
}

// Directory descriptors are 1000 + a slot, apart from file descriptors, so vfs_fsync
// can take either, as the vfs API's can.
int vfs_opendir(const char* path) {
    const std::string p = host_path(path);
    if (p.empty()) return -ENOENT;
    for (int i = 0; i < kMaxDirs; ++i) {
        if (g_dirs[i]) continue;
        g_dirs[i] = opendir(p.c_str());
        return g_dirs[i] ? 1000 + i : -errno;
    }
    return -EMFILE;
}

int vfs_readdir(int d, struct vfs_dirent* out) {
    if (d < 1000 || d - 1000 >= kMaxDirs || !g_dirs[d - 1000]) return -EBADF;
    errno = 0;
    const dirent* e = readdir(g_dirs[d - 1000]);
    if (!e) return errno ? -errno : 0;
    out->d_ino = e->d_ino;
    out->d_type = e->d_type;
    strncpy(out->d_name, e->d_name, sizeof(out->d_name) - 1);
    out->d_name[sizeof(out->d_name) - 1] = '\0';
    return 1;
}

int vfs_closedir(int d) {
    if (d < 1000 || d - 1000 >= kMaxDirs || !g_dirs[d - 1000]) return -EBADF;
    closedir(g_dirs[d - 1000]);
    g_dirs[d - 1000] = nullptr;
    return 0;
}

int64_t vfs_read(int fd, void* buf, uint64_t len) {
    return result(read(fd, buf, len));
}

void* vfs_buffer_alloc(uint64_t len) {
    return aligned_alloc(4096, (len + 4095) & ~uint64_t{4095});
}

void vfs_buffer_free(void* p) {
    free(p);
}

// bench's getattr=N point: the fields it could look at, from fstat(2).
int vfs_fstat(int fd, struct vfs_stat* out) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    *out = {};
    out->st_ino = st.st_ino;
    out->st_mode = st.st_mode;
    out->st_nlink = st.st_nlink;
    out->st_size = st.st_size;
    return 0;
}

}  // extern "C"

// The host's directory has no DAX window.
namespace vfs::guest::bench {
int dax_prepare(int, bool, uint64_t, DaxPrep) {
    return -ENODEV;
}
}  // namespace vfs::guest::bench
