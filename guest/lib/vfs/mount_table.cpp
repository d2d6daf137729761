// The mount table and vfs_mount/vfs_umount (see mount_table.h).
#include "lib/vfs/mount_table.h"

#include "lib/vfs/backend_9p.h"
#include "lib/vfs/device_registry.h"
#include "lib/vfs/vfs.h"

namespace vfs::guest::vfslib {
namespace {

Mount g_mounts[kMaxMounts];

uint32_t length(const char* s) {
    uint32_t n = 0;
    while (s[n])
        ++n;
    return n;
}

// "/share/" and "//share" both mean "/share"; "/" is a valid mount point.
bool normalise(const char* in, char* out, uint32_t* out_len) {
    if (in[0] != '/') return false;
    uint32_t n = 0;
    for (const char* p = in; *p; ++p) {
        if (*p == '/' && n > 0 && out[n - 1] == '/') continue;
        if (n == kMountPathMax) return false;
        out[n++] = *p;
    }
    if (n > 1 && out[n - 1] == '/') --n;
    out[n] = '\0';
    *out_len = n;
    return true;
}

}  // namespace

Mount* mount_for(const char* path, const char** rest) {
    Mount* best = nullptr;
    for (Mount& m : g_mounts) {
        if (!m.used) continue;
        const bool root = m.path_len == 1;
        if (!root && (__builtin_memcmp(path, m.path, m.path_len) != 0 ||
                      (path[m.path_len] != '\0' && path[m.path_len] != '/')))
            continue;
        if (root && path[0] != '/') continue;
        if (!best || m.path_len > best->path_len) best = &m;
    }
    if (best) *rest = path + (best->path_len == 1 ? 1 : best->path_len);
    return best;
}

Mount* mount_at(const char* path) {
    char norm[kMountPathMax + 1];
    uint32_t len = 0;
    if (!normalise(path, norm, &len)) return nullptr;
    for (Mount& m : g_mounts) {
        if (m.used && m.path_len == len && __builtin_memcmp(m.path, norm, len) == 0) return &m;
    }
    return nullptr;
}

Mount* mount_slot() {
    for (Mount& m : g_mounts) {
        if (!m.used) return &m;
    }
    return nullptr;
}

}  // namespace vfs::guest::vfslib

using vfs::guest::vfslib::Mount;

namespace {

// "key=value" at the start of opt (up to ',' or the end)? Then *value and *value_len.
bool option_is(const char* opt, uint32_t len, const char* key, const char** value,
               uint32_t* value_len) {
    uint32_t k = 0;
    while (key[k] && k < len && opt[k] == key[k])
        ++k;
    if (key[k] || k == len || opt[k] != '=') return false;
    *value = opt + k + 1;
    *value_len = len - k - 1;
    return true;
}

bool equals(const char* v, uint32_t len, const char* word) {
    uint32_t i = 0;
    for (; i < len && word[i] && v[i] == word[i]; ++i) {
    }
    return i == len && word[i] == 0;
}

bool parse_u32(const char* v, uint32_t len, uint32_t* out) {
    if (len == 0 || len > 9) return false;
    uint32_t n = 0;
    for (uint32_t i = 0; i < len; ++i) {
        if (v[i] < '0' || v[i] > '9') return false;
        n = n * 10 + static_cast<uint32_t>(v[i] - '0');
    }
    *out = n;
    return true;
}

bool parse_options(const char* opts, vfs::guest::ukfuse::DaxOptions* dax, bool* write_behind) {
    using vfs::guest::ukfuse::DaxMode;
    for (const char* p = opts; p && *p;) {
        uint32_t len = 0;
        while (p[len] && p[len] != ',')
            ++len;
        const char* v = nullptr;
        uint32_t vlen = 0;
        if (option_is(p, len, "dax", &v, &vlen)) {
            if (equals(v, vlen, "never"))
                dax->mode = DaxMode::kNever;
            else if (equals(v, vlen, "always"))
                dax->mode = DaxMode::kAlways;
            else if (equals(v, vlen, "auto"))
                dax->mode = DaxMode::kAuto;
            else
                return false;
        } else if (option_is(p, len, "dax_ranges", &v, &vlen)) {
            if (!parse_u32(v, vlen, &dax->max_ranges)) return false;
        } else if (option_is(p, len, "dax_evict", &v, &vlen)) {
            if (!parse_u32(v, vlen, &dax->evict_batch)) return false;
        } else if (len == 12 && equals(p, len, "write_behind")) {
            *write_behind = true;
        } else if (len != 0) {
            return false;
        }
        p += len;
        if (*p == ',') ++p;
    }
    return true;
}

}  // namespace

extern "C" int vfs_mount(const char* tag, const char* path) {
    return vfs_mount_opts(tag, path, nullptr);
}

extern "C" int vfs_mount_dax(const char* path) {
    Mount* m = path ? vfs::guest::vfslib::mount_at(path) : nullptr;
    if (!m) return -EINVAL;
    return m->session && m->session->dax() ? 1 : 0;
}

extern "C" int vfs_mount_opts(const char* tag, const char* path, const char* opts) {
    using namespace vfs::guest::vfslib;
    if (!tag || !path) return -EINVAL;
    vfs::guest::ukfuse::DaxOptions dax;
    bool write_behind = false;
    if (!parse_options(opts, &dax, &write_behind)) return -EINVAL;
    char norm[kMountPathMax + 1];
    uint32_t len = 0;
    if (length(path) > kMountPathMax || !normalise(path, norm, &len)) return -EINVAL;
    if (mount_at(norm)) return -EBUSY;
    vfs::guest::virtio_fs::FsDevice* dev = find_device(tag);
    if (!dev) return p9_mount(tag, norm, len);
    for (Mount& m : g_mounts) {
        if (m.used && m.session && &m.session->device() == dev) return -EBUSY;
    }
    Mount* m = mount_slot();
    if (!m) return -ENOSPC;
    auto* session = new vfs::guest::ukfuse::Session;
    if (!session) return -ENOMEM;
    if (auto s = session->init(*dev); !s) {
        delete session;
        return -s.error();
    }
    if (auto s = session->enable_dax(dax); !s) {
        (void)session->shutdown();
        delete session;
        return -s.error();
    }
    if (write_behind) {
        if (auto s = session->enable_write_behind(); !s) {
            (void)session->shutdown();
            delete session;
            return -s.error();
        }
    }
    *m = Mount{};
    m->used = true;
    __builtin_memcpy(m->path, norm, len + 1);
    m->path_len = len;
    m->session = session;
    return 0;
}

extern "C" int vfs_umount(const char* path) {
    using namespace vfs::guest::vfslib;
    if (!path) return -EINVAL;
    Mount* m = mount_at(path);
    if (!m) return -EINVAL;
    if (m->open_files) return -EBUSY;
    if (m->p9) return p9_umount(m);
    auto s = m->session->shutdown();
    // The session's slots may still be on the device's queues: it stays allocated.
    m->used = false;
    return s ? 0 : -s.error();
}
