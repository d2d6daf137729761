#include "migration/state_format.h"

#include <errno.h>

#include <cstring>

namespace vfs::host::migration {

using vfs::wire::Error;
using vfs::wire::Result;

namespace {

constexpr char kMagic[8] = {'V', 'F', 'S', 'C', 'X', 'X', 'S', 'T'};
// Fixed bytes per record before its variable part: nodeid, nlookup, type, locator,
// path length, has_handle; then the handle's type and size.
constexpr size_t kInodeFixedBytes = 8 + 8 + 4 + 1 + 2 + 1;
constexpr size_t kHandleFixedBytes = 4 + 4;
constexpr size_t kHandleRecordBytes = 8 + 8 + 4 + 1;

class Writer {
  public:
    explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
    template <class T>
    void put(T v) {
        const size_t at = out_.size();
        out_.resize(at + sizeof(T));
        std::memcpy(out_.data() + at, &v, sizeof(T));
    }
    // resize + memcpy rather than insert: gcc 12 -O3 warns (stringop-overflow) on an
    // insert into the empty vector, and the Release build runs with -Werror.
    void bytes(const void* p, size_t n) {
        if (n == 0) return;
        const size_t at = out_.size();
        out_.resize(at + n);
        std::memcpy(out_.data() + at, p, n);
    }

  private:
    std::vector<uint8_t>& out_;
};

// Reads fields off a span; any read past the end sets failed() and yields zeros.
class Reader {
  public:
    explicit Reader(std::span<const uint8_t> in) : in_(in) {}
    template <class T>
    T get() {
        T v{};
        if (!take(&v, sizeof(T))) return T{};
        return v;
    }
    bool take(void* p, size_t n) {
        if (failed_ || in_.size() - pos_ < n) {
            failed_ = true;
            return false;
        }
        std::memcpy(p, in_.data() + pos_, n);
        pos_ += n;
        return true;
    }
    size_t remaining() const { return in_.size() - pos_; }
    bool failed() const { return failed_; }

  private:
    std::span<const uint8_t> in_;
    size_t pos_ = 0;
    bool failed_ = false;
};

void put_handle(Writer& w, const FileHandle& h) {
    w.put<int32_t>(h.type);
    w.put<uint32_t>(h.size);
    w.bytes(h.bytes, h.size);
}

bool get_handle(Reader& r, FileHandle* h) {
    h->type = r.get<int32_t>();
    h->size = r.get<uint32_t>();
    if (r.failed() || h->size == 0 || h->size > FileHandle::kMaxBytes) return false;
    return r.take(h->bytes, h->size);
}

}  // namespace

bool is_clean_relative_path(std::string_view path) {
    if (path.empty() || path.size() > kMaxPathBytes || path.front() == '/') return false;
    if (path.find('\0') != std::string_view::npos) return false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view c = path.substr(start, end - start);
        if (c.empty() || c == "." || c == "..") return false;
        start = end + 1;
    }
    return true;
}

std::vector<uint8_t> encode(const State& s) {
    std::vector<uint8_t> out;
    Writer w(out);
    w.bytes(kMagic, sizeof(kMagic));
    w.put<uint32_t>(kStateVersion);
    w.put<uint32_t>(0);
    w.put<uint64_t>(0);  // the body length, filled in below
    w.put<uint8_t>(s.session.initialized ? 1 : 0);
    w.put<uint32_t>(s.session.minor);
    w.put<uint64_t>(s.session.flags);
    w.put<uint64_t>(s.next_nodeid);
    w.put<uint64_t>(s.next_fh);
    w.put<uint32_t>(static_cast<uint32_t>(s.inodes.size()));
    for (const InodeRecord& i : s.inodes) {
        w.put<uint64_t>(i.nodeid);
        w.put<uint64_t>(i.nlookup);
        w.put<uint32_t>(i.type);
        w.put<uint8_t>(static_cast<uint8_t>(i.locator));
        w.put<uint16_t>(static_cast<uint16_t>(i.path.size()));
        w.bytes(i.path.data(), i.path.size());
        w.put<uint8_t>(i.has_handle ? 1 : 0);
        if (i.has_handle) put_handle(w, i.handle);
    }
    w.put<uint32_t>(static_cast<uint32_t>(s.handles.size()));
    for (const HandleRecord& h : s.handles) {
        w.put<uint64_t>(h.fh);
        w.put<uint64_t>(h.nodeid);
        w.put<uint32_t>(h.open_flags);
        w.put<uint8_t>(h.is_dir ? 1 : 0);
    }
    const uint64_t body = out.size() - kStreamHeaderBytes;
    std::memcpy(out.data() + 16, &body, sizeof(body));
    return out;
}

Result<State> decode(std::span<const uint8_t> bytes) {
    if (bytes.size() < kStreamHeaderBytes) return Error{EINVAL};
    if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return Error{EINVAL};
    Reader head(bytes.subspan(sizeof(kMagic), kStreamHeaderBytes - sizeof(kMagic)));
    const auto version = head.get<uint32_t>();
    const auto reserved = head.get<uint32_t>();
    const auto body_len = head.get<uint64_t>();
    if (version != kStateVersion) return Error{EPROTONOSUPPORT};
    if (reserved != 0) return Error{EINVAL};
    if (body_len > kMaxBodyBytes) return Error{E2BIG};
    if (body_len != bytes.size() - kStreamHeaderBytes) return Error{EINVAL};

    Reader r(bytes.subspan(kStreamHeaderBytes));
    State s;
    const auto initialized = r.get<uint8_t>();
    if (initialized > 1) return Error{EINVAL};
    s.session.initialized = initialized == 1;
    s.session.minor = r.get<uint32_t>();
    s.session.flags = r.get<uint64_t>();
    s.next_nodeid = r.get<uint64_t>();
    s.next_fh = r.get<uint64_t>();
    const auto ninodes = r.get<uint32_t>();
    if (r.failed()) return Error{EINVAL};
    if (ninodes > kMaxInodes) return Error{E2BIG};
    // Each record takes at least its fixed bytes: a count the body cannot hold is refused
    // before anything is reserved for it.
    if (ninodes > r.remaining() / kInodeFixedBytes) return Error{EINVAL};
    s.inodes.reserve(ninodes);
    for (uint32_t n = 0; n < ninodes; ++n) {
        InodeRecord i;
        i.nodeid = r.get<uint64_t>();
        i.nlookup = r.get<uint64_t>();
        i.type = r.get<uint32_t>();
        const auto locator = r.get<uint8_t>();
        const auto path_len = r.get<uint16_t>();
        if (r.failed() || locator > static_cast<uint8_t>(Locator::kLost) ||
            path_len > kMaxPathBytes || path_len > r.remaining())
            return Error{EINVAL};
        i.locator = static_cast<Locator>(locator);
        i.path.resize(path_len);
        if (!r.take(i.path.data(), path_len)) return Error{EINVAL};
        const auto has_handle = r.get<uint8_t>();
        if (r.failed() || has_handle > 1) return Error{EINVAL};
        i.has_handle = has_handle == 1;
        if (i.has_handle && !get_handle(r, &i.handle)) return Error{EINVAL};
        // Each locator carries what it needs, and a path only where one is read.
        if (i.locator == Locator::kPath && !is_clean_relative_path(i.path)) return Error{EINVAL};
        if (i.locator != Locator::kPath && !i.path.empty()) return Error{EINVAL};
        if (i.locator == Locator::kHandle && !i.has_handle) return Error{EINVAL};
        s.inodes.push_back(std::move(i));
    }
    const auto nhandles = r.get<uint32_t>();
    if (r.failed()) return Error{EINVAL};
    if (nhandles > kMaxHandles) return Error{E2BIG};
    if (nhandles > r.remaining() / kHandleRecordBytes) return Error{EINVAL};
    s.handles.reserve(nhandles);
    for (uint32_t n = 0; n < nhandles; ++n) {
        HandleRecord h;
        h.fh = r.get<uint64_t>();
        h.nodeid = r.get<uint64_t>();
        h.open_flags = r.get<uint32_t>();
        const auto is_dir = r.get<uint8_t>();
        if (r.failed() || is_dir > 1) return Error{EINVAL};
        h.is_dir = is_dir == 1;
        s.handles.push_back(h);
    }
    if (r.remaining() != 0) return Error{EINVAL};
    (void)kHandleFixedBytes;
    return s;
}

}  // namespace vfs::host::migration
