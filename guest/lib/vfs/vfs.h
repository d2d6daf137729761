/* The file API guest apps use: POSIX-like calls over the virtio-fs shares mounted with
 * vfs_mount(). Every call returns a non-negative result or a negative errno (Linux
 * numbers), never sets a global. C-compatible, so a C app links as well as a C++ one.
 *
 * Data buffers given to vfs_read/vfs_write/vfs_pread/vfs_pwrite go to the device in
 * place (zero copy), so they must be memory the device can reach: any memory in the
 * unikernel; in the hosted build only memory from vfs_buffer_alloc() (else -EFAULT).
 * Single-threaded; no call allocates except vfs_buffer_alloc. */
#ifndef VFS_GUEST_VFS_H
#define VFS_GUEST_VFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* open() flags: Linux's values, so they pass straight into FUSE. */
#define VFS_O_RDONLY 00
#define VFS_O_WRONLY 01
#define VFS_O_RDWR 02
#define VFS_O_ACCMODE 03
#define VFS_O_CREAT 0100
#define VFS_O_EXCL 0200
#define VFS_O_TRUNC 01000
#define VFS_O_APPEND 02000
#define VFS_O_DIRECTORY 0200000
#define VFS_O_NOFOLLOW 0400000

#define VFS_SEEK_SET 0
#define VFS_SEEK_CUR 1
#define VFS_SEEK_END 2
#define VFS_SEEK_DATA 3
#define VFS_SEEK_HOLE 4

#define VFS_S_IFMT 0170000
#define VFS_S_IFDIR 0040000
#define VFS_S_IFREG 0100000
#define VFS_S_IFLNK 0120000

#define VFS_DT_UNKNOWN 0
#define VFS_DT_DIR 4
#define VFS_DT_REG 8
#define VFS_DT_LNK 10

struct vfs_stat {
    uint64_t st_dev, st_ino, st_nlink, st_rdev;
    uint32_t st_mode, st_uid, st_gid, st_blksize;
    int64_t st_size, st_blocks;
    int64_t st_atime_sec, st_mtime_sec, st_ctime_sec;
    uint32_t st_atime_nsec, st_mtime_nsec, st_ctime_nsec;
};

struct vfs_statfs {
    uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
    uint32_t f_bsize, f_frsize, f_namelen;
};

struct vfs_dirent {
    uint64_t d_ino;
    uint32_t d_type; /* VFS_DT_* */
    char d_name[256];
};

/* Mounts the virtio-fs device whose tag is `tag` at `path` (absolute, e.g. "/share"). */
int vfs_mount(const char* tag, const char* path);
/* The same with options, comma-separated (NULL or "" for none):
 *   dax=never|always|auto  file data through the device's DAX window (default auto: when
 *                          the device has one and INIT offers MAP_ALIGNMENT; always fails
 *                          with -ENODEV otherwise). Reads and writes fall back to FUSE
 *                          READ/WRITE for what the window cannot serve.
 *   dax_ranges=N           use at most N 2 MiB ranges of the window
 *   dax_evict=N            ranges given back per eviction REMOVEMAPPING
 *   write_behind           sequential writes to a file are kept in a buffer (max_write,
 *                          at most 1 MiB) and sent as one WRITE when it fills or before
 *                          anything else reaches the server or that file (stat, read,
 *                          fsync, close, seek, a write elsewhere): the host sees them
 *                          late. A failed flush's error comes from that fd's next write,
 *                          fsync or close.
 * -EINVAL for an unknown option. */
int vfs_mount_opts(const char* tag, const char* path, const char* opts);
/* Whether file data on the mount at `path` goes through a DAX window: 1, 0, or -EINVAL. */
int vfs_mount_dax(const char* path);
/* Closes nothing: fails with -EBUSY while files on it are open. Forgets every node. */
int vfs_umount(const char* path);

int vfs_open(const char* path, int flags, uint32_t mode);
int vfs_close(int fd);
int64_t vfs_read(int fd, void* buf, uint64_t len);
int64_t vfs_write(int fd, const void* buf, uint64_t len);
int64_t vfs_pread(int fd, void* buf, uint64_t len, int64_t off);
int64_t vfs_pwrite(int fd, const void* buf, uint64_t len, int64_t off);
int64_t vfs_lseek(int fd, int64_t off, int whence);
int vfs_fstat(int fd, struct vfs_stat* st);
int vfs_fsync(int fd);
int vfs_ftruncate(int fd, int64_t len);

int vfs_stat(const char* path, struct vfs_stat* st);
int vfs_lstat(const char* path, struct vfs_stat* st);
int vfs_mkdir(const char* path, uint32_t mode);
int vfs_rmdir(const char* path);
int vfs_unlink(const char* path);
int vfs_rename(const char* from, const char* to);
int vfs_symlink(const char* target, const char* linkpath);
/* The target into buf, not NUL-terminated (as readlink(2)); returns its length. */
int64_t vfs_readlink(const char* path, char* buf, uint64_t cap);
int vfs_link(const char* from, const char* to);
int vfs_statfs(const char* path, struct vfs_statfs* st);

/* Directories: a descriptor from vfs_opendir; vfs_readdir returns 1 with *out filled,
 * 0 at the end, or a negative errno. "." and ".." are reported like any entry. */
int vfs_opendir(const char* path);
int vfs_readdir(int dirfd, struct vfs_dirent* out);
int vfs_closedir(int dirfd);

/* Memory the devices can read and write directly (see above); NULL if none is left. */
void* vfs_buffer_alloc(uint64_t len);
void vfs_buffer_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* VFS_GUEST_VFS_H */
