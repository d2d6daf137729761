#include "sandbox/id_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

#include "util/unique_fd.h"

namespace vfs::host::sandbox {
namespace {

std::optional<uint32_t> parse_u32(std::string_view s) {
    uint32_t v = 0;
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

bool overlap(uint64_t a, uint64_t b, uint64_t count_a, uint64_t count_b) {
    return a < b + count_b && b < a + count_a;
}

std::optional<std::string> write_map(pid_t pid, const char* file, const std::string& text) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() ||
        ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return std::string("write ") + file + ": " + strerror(errno);
    return std::nullopt;
}

// newuidmap PID inside outside count ... : the setuid helper checks /etc/subuid.
std::optional<std::string> run_new_id_map(const char* tool, pid_t pid,
                                          const std::vector<IdMapRange>& ranges) {
    std::vector<std::string> args{tool, std::to_string(pid)};
    for (const auto& r : ranges)
        for (uint32_t v : {r.inside, r.outside, r.count})
            args.push_back(std::to_string(v));
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t child = ::fork();
    if (child < 0) return std::string("fork for ") + tool + ": " + strerror(errno);
    if (child == 0) {
        ::execvp(tool, argv.data());
        ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return std::string(tool) +
               " was not found: unprivileged --uid-map/--gid-map need newuidmap and "
               "newgidmap (Debian package uidmap) and /etc/subuid, /etc/subgid entries";
    return std::string(tool) +
           " refused the map (see its message above; the ranges must "
           "be the caller's in /etc/subuid or /etc/subgid)";
}

}  // namespace

std::optional<std::string> parse_id_map(std::string_view text, IdMapRange* out) {
    const std::string quoted = "'" + std::string(text) + "'";
    if (text.size() < 2)
        return quoted + ": give <d>namespace_id<d>host_id<d>count<d>, e.g. :0:100000:65536:";
    const char d = text.front();
    if (text.back() != d)
        return quoted + ": it must end with the separator it starts with ('" + std::string(1, d) +
               "')";
    std::string_view body = text.substr(1, text.size() - 2);
    uint32_t v[3] = {};
    const char* names[3] = {"namespace id", "host id", "count"};
    for (int i = 0; i < 3; ++i) {
        const size_t at = body.find(d);
        if ((at == std::string_view::npos) != (i == 2))
            return quoted + ": it needs exactly 3 numbers between '" + std::string(1, d) +
                   "' separators (namespace_id, host_id, count)";
        const std::string_view field = body.substr(0, at);
        auto n = parse_u32(field);
        if (!n)
            return quoted + ": the " + names[i] + " '" + std::string(field) +
                   "' is not a decimal number from 0 to 4294967295";
        v[i] = *n;
        if (at != std::string_view::npos) body.remove_prefix(at + 1);
    }
    if (v[2] == 0) return quoted + ": the count is 0";
    // 4294967295 is (uid_t)-1: the kernel refuses a range that reaches it.
    if (uint64_t{v[0]} + v[2] > 0xffffffffull || uint64_t{v[1]} + v[2] > 0xffffffffull)
        return quoted + ": the range runs past 4294967294, the last id";
    *out = {v[0], v[1], v[2]};
    return std::nullopt;
}

std::optional<std::string> parse_id_maps(const char* flag, const std::vector<std::string>& texts,
                                         std::vector<IdMapRange>* out) {
    out->clear();
    for (const auto& t : texts) {
        IdMapRange r;
        if (auto err = parse_id_map(t, &r)) return std::string(flag) + " " + *err;
        for (const auto& o : *out) {
            if (overlap(r.inside, o.inside, r.count, o.count) ||
                overlap(r.outside, o.outside, r.count, o.count))
                return std::string(flag) + " '" + t +
                       "' overlaps an earlier one, inside the namespace or on the host";
        }
        out->push_back(r);
    }
    return std::nullopt;
}

std::string id_map_text(const std::vector<IdMapRange>& ranges) {
    std::string text;
    for (const auto& r : ranges)
        text += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " +
                std::to_string(r.count) + "\n";
    return text;
}

std::optional<std::string> write_id_maps(pid_t pid, const IdMaps& maps, uid_t own_uid,
                                         gid_t own_gid) {
    const std::vector<IdMapRange> uid =
        maps.uid.empty() ? std::vector<IdMapRange>{{own_uid, own_uid, 1}} : maps.uid;
    const std::vector<IdMapRange> gid =
        maps.gid.empty() ? std::vector<IdMapRange>{{own_gid, own_gid, 1}} : maps.gid;
    if (::geteuid() == 0) {
        if (auto err = write_map(pid, "uid_map", id_map_text(uid))) return err;
        return write_map(pid, "gid_map", id_map_text(gid));
    }
    if (auto err = run_new_id_map("newuidmap", pid, uid)) return err;
    return run_new_id_map("newgidmap", pid, gid);
}

}  // namespace vfs::host::sandbox
