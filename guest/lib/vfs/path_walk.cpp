// Path resolution (see path_walk.h).
#include "lib/vfs/path_walk.h"

#include <linux/limits.h>
#include "lib/ukfuse/file_type.h"

namespace vfs::guest::vfslib {
namespace {

// Two buffers: the path being walked, and the next one being built from a symlink
// target plus what was left. Static: the walk is single-threaded and the stack small.
char g_path[2][PATH_MAX * 2];

constexpr uint32_t kTooLong = ~0u;

struct Stack {
    ukfuse::Session* s = nullptr;
    uint64_t node[kMaxDepth + 1] = {};
    int depth = -1;
    // The walked directories as a path from "/", kept while it is short enough to be a
    // mount point: a walk that reaches one by "..", "." or a symlink enters it too.
    char canon[kMountPathMax + 1] = {};
    uint32_t canon_len[kMaxDepth + 1] = {};  // per depth; kTooLong past kMountPathMax

    void reset(const Mount* m) {
        clear();
        s = m->session;
        node[0] = ukfuse::kRootId;
        depth = 0;
        canon_len[0] = m->path_len == 1 ? 0 : m->path_len;  // "/" as the empty prefix
        __builtin_memcpy(canon, m->path, canon_len[0]);
    }
    void clear() {
        for (; depth > 0; --depth)
            s->put(node[depth]);
        depth = -1;
    }
    void push(uint64_t nodeid, const char* comp, uint32_t clen) {
        const uint32_t base = canon_len[depth];
        node[++depth] = nodeid;
        if (base == kTooLong || base + 1 + clen > kMountPathMax) {
            canon_len[depth] = kTooLong;
            return;
        }
        canon[base] = '/';
        __builtin_memcpy(canon + base + 1, comp, clen);
        canon_len[depth] = base + 1 + clen;
    }
    // The mount at top/comp if there is one (it is always below m's mount point).
    Mount* mount_below(const Mount* m, const char* comp, uint32_t clen) const {
        const uint32_t base = canon_len[depth];
        if (base == kTooLong || base + 1 + clen > kMountPathMax) return nullptr;
        char path[kMountPathMax + 1];
        __builtin_memcpy(path, canon, base);
        path[base] = '/';
        __builtin_memcpy(path + base + 1, comp, clen);
        path[base + 1 + clen] = '\0';
        Mount* inner = mount_at(path);
        return inner != m ? inner : nullptr;
    }
    uint64_t top() const { return node[depth]; }
    uint64_t parent() const { return depth > 0 ? node[depth - 1] : node[0]; }
};

uint32_t length(const char* s) {
    uint32_t n = 0;
    while (s[n])
        ++n;
    return n;
}

}  // namespace

int walk(const char* path, uint32_t flags, Walk* out) {
    *out = Walk{};
    if (!path || path[0] != '/') return path && path[0] ? -ENOENT : -ENOENT;
    const uint32_t plen = length(path);
    if (plen >= PATH_MAX) return -ENAMETOOLONG;
    int cur = 0;
    __builtin_memcpy(g_path[cur], path, plen + 1);
    int links = 0;
    Stack st;

restart:
    const char* rest = nullptr;
    Mount* m = mount_for(g_path[cur], &rest);
    if (!m) return -ENOENT;
    st.reset(m);
    const char* p = rest;
    for (;;) {
        while (*p == '/')
            ++p;
        if (*p == '\0') {
            // The path names a directory on the stack (a mount root, or after "." / "..").
            if (flags & kParent) {
                st.clear();
                return -EINVAL;
            }
            const uint64_t node = st.top();
            auto attr = m->session->getattr(node);
            if (!attr) {
                st.clear();
                return -attr.error();
            }
            out->mount = m;
            out->node = node;
            out->dir = st.parent();
            m->session->hold(node);
            m->session->hold(out->dir);
            out->attr = *attr;
            st.clear();
            return 0;
        }
        const char* comp = p;
        while (*p && *p != '/')
            ++p;
        const uint32_t clen = static_cast<uint32_t>(p - comp);
        const char* after = p;
        while (*after == '/')
            ++after;
        const bool last = *after == '\0';
        if (clen > NAME_MAX) {
            st.clear();
            return -ENAMETOOLONG;
        }
        if (clen == 1 && comp[0] == '.') continue;
        if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
            if (st.depth > 0) m->session->put(st.node[st.depth--]);
            continue;
        }
        if (st.mount_below(m, comp, clen)) {
            // Continue on the mount's own path, from which mount_for picks it.
            const int next = 1 - cur;
            const uint32_t head = st.canon_len[st.depth] + 1 + clen;
            const uint32_t tail = length(p);
            if (head + tail + 1 > sizeof(g_path[next])) {
                st.clear();
                return -ENAMETOOLONG;
            }
            __builtin_memcpy(g_path[next], st.canon, st.canon_len[st.depth]);
            g_path[next][st.canon_len[st.depth]] = '/';
            __builtin_memcpy(g_path[next] + st.canon_len[st.depth] + 1, comp, clen);
            __builtin_memcpy(g_path[next] + head, p, tail + 1);
            cur = next;
            st.clear();
            goto restart;
        }
        if (last && (flags & kParent)) {
            out->mount = m;
            out->dir = st.top();
            m->session->hold(out->dir);
            __builtin_memcpy(out->name, comp, clen);
            out->name_len = clen;
            st.clear();
            return 0;
        }
        auto e = m->session->lookup(st.top(), comp, clen);
        if (!e) {
            if (e.error() == ENOENT && last && (flags & kAllowMissing)) {
                out->mount = m;
                out->dir = st.top();
                m->session->hold(out->dir);
                __builtin_memcpy(out->name, comp, clen);
                out->name_len = clen;
                st.clear();
                return 0;
            }
            st.clear();
            return -e.error();
        }
        const uint32_t type = e->attr.mode & ukfuse::kTypeMask;
        if (type == ukfuse::kTypeLink && (!last || (flags & kFollow))) {
            if (++links > kMaxSymlinks) {
                m->session->put(e->nodeid);
                st.clear();
                return -ELOOP;
            }
            const int next = 1 - cur;
            auto n = m->session->readlink(e->nodeid, g_path[next], PATH_MAX);
            m->session->put(e->nodeid);
            if (!n) {
                st.clear();
                return -n.error();
            }
            // The target, then whatever was left of the path after this component.
            uint32_t len = *n;
            const uint32_t tail = length(p);
            if (len + tail + 1 >= sizeof(g_path[next])) {
                st.clear();
                return -ENAMETOOLONG;
            }
            __builtin_memcpy(g_path[next] + len, p, tail + 1);
            cur = next;
            if (g_path[cur][0] == '/') {
                st.clear();
                goto restart;
            }
            p = g_path[cur];
            continue;
        }
        if (last) {
            out->mount = m;
            out->dir = st.top();
            m->session->hold(out->dir);
            out->node = e->nodeid;
            out->attr = e->attr;
            __builtin_memcpy(out->name, comp, clen);
            out->name_len = clen;
            st.clear();
            return 0;
        }
        if (type != ukfuse::kTypeDir) {
            m->session->put(e->nodeid);
            st.clear();
            return -ENOTDIR;
        }
        if (st.depth == kMaxDepth) {
            m->session->put(e->nodeid);
            st.clear();
            return -ENAMETOOLONG;
        }
        st.push(e->nodeid, comp, clen);
    }
}

void walk_done(Walk* w) {
    if (!w->mount) return;
    ukfuse::Session* s = w->mount->session;
    if (w->node) s->put(w->node);
    if (w->dir) s->put(w->dir);
    (void)s->flush_forgets();
    *w = Walk{};
}

}  // namespace vfs::guest::vfslib
