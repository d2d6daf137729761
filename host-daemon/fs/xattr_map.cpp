#include "fs/xattr_map.h"

#include <errno.h>

namespace vfs::host {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Walks one rule's fields: each ends at the rule's separator.
struct FieldReader {
    std::string_view text;
    size_t pos;
    char sep;

    // The next field, or false when the text ends before its closing separator.
    bool next(std::string_view* field) {
        const size_t end = text.find(sep, pos);
        if (end == std::string_view::npos) return false;
        *field = text.substr(pos, end - pos);
        pos = end + 1;
        return true;
    }
};

std::string where(size_t rule, size_t pos) {
    return "--xattrmap rule " + std::to_string(rule) + " (character " + std::to_string(pos) + ")";
}

}  // namespace

std::variant<XattrMap, std::string> XattrMap::parse(std::string_view text) {
    XattrMap map;
    size_t pos = 0;
    size_t rule_no = 0;
    auto skip_blanks = [&] {
        while (pos < text.size() && is_blank(text[pos]))
            ++pos;
    };
    for (skip_blanks(); pos < text.size(); skip_blanks()) {
        ++rule_no;
        const size_t start = pos;
        FieldReader f{text, pos + 1, text[pos]};
        auto missing = [&](const char* field) {
            return where(rule_no, text.size()) + ": the rule starting at character " +
                   std::to_string(start) + " ends before the '" + std::string(1, f.sep) +
                   "' that closes its " + field + " field";
        };
        std::string_view type;
        const size_t type_pos = f.pos;
        if (!f.next(&type)) return missing("type");
        if (type == "map") {
            std::string_view key, prepend;
            if (!f.next(&key)) return missing("key");
            if (!f.next(&prepend)) return missing("prepend");
            pos = f.pos;
            skip_blanks();
            if (pos < text.size())
                return where(rule_no, pos) +
                       ": a map rule must be the last rule, but another rule follows";
            // What virtiofsd documents `map` to stand for.
            map.rules_.push_back(
                {Type::kPrefix, true, true, std::string(key), std::string(prepend)});
            if (key.empty()) {
                map.rules_.push_back({Type::kBad, true, true, "", ""});
            } else {
                // Hide the host's own unprefixed `key` names; keep the guest out of the
                // prefix's namespace, or it could bypass the guest's access rules.
                map.rules_.push_back(
                    {Type::kBad, true, true, std::string(prepend), std::string(key)});
                map.rules_.push_back({Type::kOk, true, true, "", ""});
            }
            break;
        }
        Rule r{};
        if (type == "prefix") {
            r.type = Type::kPrefix;
        } else if (type == "ok") {
            r.type = Type::kOk;
        } else if (type == "bad") {
            r.type = Type::kBad;
        } else if (type == "unsupported") {
            r.type = Type::kUnsupported;
        } else {
            return where(rule_no, type_pos) + ": unknown type '" + std::string(type) +
                   "' (prefix, ok, bad, unsupported or map)";
        }
        std::string_view scope;
        const size_t scope_pos = f.pos;
        if (!f.next(&scope)) return missing("scope");
        if (scope == "client" || scope == "all") r.client = true;
        if (scope == "server" || scope == "all") r.server = true;
        if (!r.client && !r.server)
            return where(rule_no, scope_pos) + ": unknown scope '" + std::string(scope) +
                   "' (client, server or all)";
        std::string_view key, prepend;
        if (!f.next(&key)) return missing("key");
        if (!f.next(&prepend)) return missing("prepend");
        r.key = key;
        r.prepend = prepend;
        map.rules_.push_back(std::move(r));
        pos = f.pos;
    }
    if (map.rules_.empty()) return std::string("--xattrmap has no rules");
    return map;
}

XattrMap::ClientName XattrMap::map_client(std::string_view name) const {
    for (const Rule& r : rules_) {
        if (!r.client || !name.starts_with(r.key)) continue;
        switch (r.type) {
            case Type::kOk:
                return {0, std::string(name)};
            case Type::kPrefix:
                return {0, r.prepend + std::string(name)};
            case Type::kBad:
                return {EPERM, {}};
            case Type::kUnsupported:
                return {ENOTSUP, {}};
        }
    }
    return {EPERM, {}};
}

std::string XattrMap::map_server_list(std::string_view host_list) const {
    std::string out;
    out.reserve(host_list.size());
    size_t pos = 0;
    while (pos < host_list.size()) {
        size_t end = host_list.find('\0', pos);
        if (end == std::string_view::npos) end = host_list.size();
        const std::string_view name = host_list.substr(pos, end - pos);
        pos = end + 1;
        if (name.empty()) continue;
        for (const Rule& r : rules_) {
            if (!r.server || !name.starts_with(r.prepend)) continue;
            std::string_view shown;
            if (r.type == Type::kOk) shown = name;
            if (r.type == Type::kPrefix) shown = name.substr(r.prepend.size());
            // bad/unsupported hide it; so does a prefix that leaves nothing.
            if (!shown.empty()) {
                out.append(shown);
                out.push_back('\0');
            }
            break;
        }
    }
    return out;
}

}  // namespace vfs::host
