// shell: a tiny command runner for the kernel command line, so a unikernel can be told
// what to do with a share from outside (tools/demo uses it). Everything after "--" is
// the script: commands separated by ';', words by spaces, no quoting:
//
//   tag=myfs mount=/share -- ls /share; cat /share/notes.txt; echo hi > /share/out.txt
//
// Commands: ls [dir], cat FILE, echo WORDS [> FILE | >> FILE], mkdir DIR, rmdir DIR,
// rm FILE, mv FROM TO, ln -s TARGET LINK, stat PATH, df PATH. Each command is echoed
// with "$ " first; a failing command prints its errno and the app fails at the end.
#include <linux/errno.h>

#include "apps/common/args.h"
#include "apps/common/attach.h"
#include "kernel/app.h"
#include "kernel/console.h"
#include "kernel/format.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest {
namespace {

constexpr int kMaxWords = 32;
constexpr uint32_t kIoBytes = 4096;
uint8_t* g_io = nullptr;  // device-reachable: vfs_buffer_alloc

// The console has no length-limited %s: print n bytes through a NUL-terminated copy.
void print_bytes(const uint8_t* p, uint64_t n) {
    char chunk[257];
    while (n > 0) {
        const uint64_t k = n < 256 ? n : 256;
        __builtin_memcpy(chunk, p, k);
        chunk[k] = '\0';
        kprintf("%s", chunk);
        p += k;
        n -= k;
    }
}

int report(const char* cmd, int64_t r) {
    if (r >= 0) return 0;
    kprintf("%s: error %ld\n", cmd, static_cast<long>(-r));
    return 1;
}

int cmd_ls(const char* dir) {
    const int d = vfs_opendir(dir);
    if (d < 0) return report("ls", d);
    vfs_dirent e;
    char path[512];
    int r;
    while ((r = vfs_readdir(d, &e)) == 1) {
        if (apps::same(e.d_name, ".") || apps::same(e.d_name, "..")) continue;
        format_to(path, sizeof(path), "%s/%s", dir, e.d_name);
        struct vfs_stat st;
        if (vfs_lstat(path, &st) < 0) {
            kprintf("?          %s\n", e.d_name);
            continue;
        }
        const uint32_t type = st.st_mode & VFS_S_IFMT;
        kprintf("%c %8ld  %s\n",
                type == VFS_S_IFDIR   ? 'd'
                : type == VFS_S_IFLNK ? 'l'
                                      : '-',
                static_cast<long>(st.st_size), e.d_name);
    }
    vfs_closedir(d);
    return report("ls", r);
}

int cmd_cat(const char* file) {
    const int fd = vfs_open(file, VFS_O_RDONLY, 0);
    if (fd < 0) return report("cat", fd);
    int64_t n;
    while ((n = vfs_read(fd, g_io, kIoBytes)) > 0)
        print_bytes(g_io, static_cast<uint64_t>(n));
    vfs_close(fd);
    return report("cat", n);
}

int cmd_echo(char** w, int n) {
    int end = n;
    const char* target = nullptr;
    bool append = false;
    for (int i = 1; i < n; ++i) {
        if (apps::same(w[i], ">") || apps::same(w[i], ">>")) {
            if (i + 1 >= n) return report("echo", -EINVAL);
            append = w[i][1] == '>';
            target = w[i + 1];
            end = i;
            break;
        }
    }
    uint32_t len = 0;
    for (int i = 1; i < end; ++i) {
        for (const char* p = w[i]; *p && len < kIoBytes - 2; ++p)
            g_io[len++] = static_cast<uint8_t>(*p);
        if (i + 1 < end && len < kIoBytes - 2) g_io[len++] = ' ';  // keep room for '\n'
    }
    g_io[len++] = '\n';
    if (!target) {
        print_bytes(g_io, len);
        return 0;
    }
    const int flags = VFS_O_WRONLY | VFS_O_CREAT | (append ? VFS_O_APPEND : VFS_O_TRUNC);
    const int fd = vfs_open(target, flags, 0644);
    if (fd < 0) return report("echo", fd);
    const int64_t r = vfs_write(fd, g_io, len);
    const int c = vfs_close(fd);
    if (r >= 0 && r != len) return report("echo", -EIO);
    return report("echo", r < 0 ? r : c);
}

int cmd_stat(const char* path) {
    struct vfs_stat st;
    const int r = vfs_lstat(path, &st);
    if (r < 0) return report("stat", r);
    kprintf("%s: ino %lu mode %#x nlink %lu size %ld\n", path,
            static_cast<unsigned long>(st.st_ino), st.st_mode,
            static_cast<unsigned long>(st.st_nlink), static_cast<long>(st.st_size));
    return 0;
}

int cmd_df(const char* path) {
    struct vfs_statfs st;
    const int r = vfs_statfs(path, &st);
    if (r < 0) return report("df", r);
    kprintf("%s: %lu blocks of %u, %lu free, %lu files\n", path,
            static_cast<unsigned long>(st.f_blocks), st.f_bsize,
            static_cast<unsigned long>(st.f_bavail), static_cast<unsigned long>(st.f_files));
    return 0;
}

int run(char** w, int n) {
    const char* c = w[0];
    if (apps::same(c, "ls")) return cmd_ls(n > 1 ? w[1] : "/");
    if (apps::same(c, "echo")) return cmd_echo(w, n);
    if (n < 2) return report(c, -EINVAL);
    if (apps::same(c, "cat")) return cmd_cat(w[1]);
    if (apps::same(c, "mkdir")) return report(c, vfs_mkdir(w[1], 0755));
    if (apps::same(c, "rmdir")) return report(c, vfs_rmdir(w[1]));
    if (apps::same(c, "rm")) return report(c, vfs_unlink(w[1]));
    if (apps::same(c, "stat")) return cmd_stat(w[1]);
    if (apps::same(c, "df")) return cmd_df(w[1]);
    if (apps::same(c, "mv") && n == 3) return report(c, vfs_rename(w[1], w[2]));
    if (apps::same(c, "ln") && n == 4 && apps::same(w[1], "-s"))
        return report(c, vfs_symlink(w[2], w[3]));
    kprintf("%s: unknown command\n", c);
    return 1;
}

}  // namespace

int app_main(int argc, char** argv) {
    int script = argc;
    for (int i = 0; i < argc; ++i) {
        if (apps::same(argv[i], "--")) {
            script = i + 1;
            break;
        }
    }
    const char* tag = apps::arg_str(script, argv, "tag", "myfs");
    const char* at = apps::arg_str(script, argv, "mount", "/share");
    if (apps::attach_virtio_fs(script, argv) <= 0) {
        kprintf("FAIL: no virtio-fs device\n");
        return 1;
    }
    if (int r = vfs_mount(tag, at); r < 0) {
        kprintf("FAIL: mounting \"%s\" at %s: error %d\n", tag, at, -r);
        return 1;
    }
    g_io = static_cast<uint8_t*>(vfs_buffer_alloc(kIoBytes));
    if (!g_io) return 1;

    int failed = 0;
    char* words[kMaxWords];
    int n = 0;
    auto flush = [&]() {
        if (n == 0) return;
        kprintf("$");
        for (int i = 0; i < n; ++i)
            kprintf(" %s", words[i]);
        kprintf("\n");
        failed += run(words, n);
        n = 0;
    };
    // The kernel splits its command line at spaces, a Linux shell hands over whole
    // strings: split each argument again at spaces, and end a command at every ';'.
    for (int i = script; i < argc; ++i) {
        char* p = argv[i];
        while (*p) {
            while (*p == ' ' || *p == '\t')
                *p++ = '\0';
            if (!*p) break;
            if (*p == ';') {
                *p++ = '\0';
                flush();
                continue;
            }
            if (n < kMaxWords) words[n++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != ';')
                ++p;
            if (*p == ';') {
                *p++ = '\0';
                flush();
            }
        }
    }
    flush();
    vfs_umount(at);
    kprintf("shell: %s\n", failed ? "some commands failed" : "done");
    return failed ? 1 : 0;
}

}  // namespace vfs::guest
