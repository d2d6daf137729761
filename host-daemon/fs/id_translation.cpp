#include "fs/id_translation.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace vfs::host {
namespace {

// 4294967295 is (uid_t)-1, "no id" to chown: no range may reach it, on either side.
constexpr uint64_t kIdLimit = 0xffffffffull;

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    for (;;) {
        const size_t at = s.find(sep);
        parts.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return parts;
        s.remove_prefix(at + 1);
    }
}

std::optional<uint32_t> parse_id(std::string_view s) {
    uint32_t v = 0;
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v, 10);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<std::string> IdTranslation::add(std::string_view rule) {
    const std::string quoted = "'" + std::string(rule) + "'";
    const auto fields = split(rule, ':');
    const std::string_view type = fields.front();
    const bool forbid = type == "forbid-guest";
    constexpr std::array kTypes{"guest",       "host",         "squash-guest",
                                "squash-host", "forbid-guest", "map"};
    if (std::find(kTypes.begin(), kTypes.end(), type) == kTypes.end())
        return quoted + ": unknown type '" + std::string(type) +
               "' (guest, host, squash-guest, squash-host, forbid-guest or map)";
    const size_t want = forbid ? 3 : 4;
    if (fields.size() != want)
        return quoted + ": " + std::string(type) + " takes " + std::to_string(want - 1) +
               " numbers (" +
               (forbid ? "forbid-guest:<guest base>:<count>"
                       : std::string(type) + ":<source base>:<target base>:<count>") +
               "), got " + std::to_string(fields.size() - 1);
    std::array<uint32_t, 3> n{};
    for (size_t i = 1; i < fields.size(); ++i) {
        auto v = parse_id(fields[i]);
        if (!v)
            return quoted + ": field " + std::to_string(i + 1) + " '" + std::string(fields[i]) +
                   "' is not a decimal number from 0 to 4294967295";
        n[i - 1] = *v;
    }
    const uint64_t base = n[0];
    const uint64_t count = forbid ? n[1] : n[2];
    const uint64_t target = forbid ? 0 : n[1];
    if (count == 0) return quoted + ": the count is 0, so the rule covers no id";
    if (base + count > kIdLimit)
        return quoted + ": base " + std::to_string(base) + " + count " + std::to_string(count) +
               " is past 4294967295 (the last id is 4294967294; 4294967295 is no id)";
    const bool squash = type == "squash-guest" || type == "squash-host";
    if (!forbid && (squash ? target >= kIdLimit : target + count > kIdLimit))
        return quoted + (squash ? ": the target id 4294967295 is no id"
                                : ": target base " + std::to_string(target) + " + count " +
                                      std::to_string(count) +
                                      " is past 4294967295 (the last id is 4294967294)");

    const Kind kind = forbid ? Kind::kForbid : squash ? Kind::kSquash : Kind::kRange;
    const auto t32 = static_cast<uint32_t>(target);
    if (type == "map") {
        // Both directions or neither: check the second before the first is kept.
        std::vector<Entry> trial = host_to_guest_;
        if (auto err = insert(trial, {target, target + count, kind, n[0], quoted}, "host"))
            return err;
        if (auto err = insert(guest_to_host_, {base, base + count, kind, t32, quoted}, "guest"))
            return err;
        host_to_guest_ = std::move(trial);
        return std::nullopt;
    }
    const bool from_guest = type == "guest" || type == "squash-guest" || forbid;
    return insert(from_guest ? guest_to_host_ : host_to_guest_,
                  {base, base + count, kind, t32, quoted}, from_guest ? "guest" : "host");
}

std::optional<std::string> IdTranslation::insert(std::vector<Entry>& table, Entry e,
                                                 const char* direction) {
    auto at = std::lower_bound(table.begin(), table.end(), e.first,
                               [](const Entry& x, uint64_t v) { return x.first < v; });
    const Entry* clash = nullptr;
    if (at != table.end() && at->first < e.end) clash = &*at;
    if (at != table.begin() && std::prev(at)->end > e.first) clash = &*std::prev(at);
    if (clash)
        return e.rule + ": its " + direction + " ids [" + std::to_string(e.first) + ", " +
               std::to_string(e.end) + ") overlap those of " + clash->rule;
    table.insert(at, std::move(e));
    return std::nullopt;
}

const IdTranslation::Entry* IdTranslation::find(const std::vector<Entry>& table, uint32_t id) {
    // The last entry starting at or below id, if id falls inside it.
    auto at = std::upper_bound(table.begin(), table.end(), uint64_t{id},
                               [](uint64_t v, const Entry& x) { return v < x.first; });
    if (at == table.begin()) return nullptr;
    --at;
    return id < at->end ? &*at : nullptr;
}

std::optional<uint32_t> IdTranslation::to_host(uint32_t guest) const {
    const Entry* e = find(guest_to_host_, guest);
    if (!e) return guest;
    switch (e->kind) {
        case Kind::kForbid:
            return std::nullopt;
        case Kind::kSquash:
            return e->target;
        case Kind::kRange:
            break;
    }
    return static_cast<uint32_t>(e->target + (guest - e->first));
}

uint32_t IdTranslation::to_guest(uint32_t host) const {
    const Entry* e = find(host_to_guest_, host);
    if (!e) return host;
    if (e->kind == Kind::kSquash) return e->target;
    return static_cast<uint32_t>(e->target + (host - e->first));
}

}  // namespace vfs::host
