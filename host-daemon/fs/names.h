// Name checks at the filesystem boundary: a name from the guest must be one path
// component. The FUSE decoder checks this too; the filesystem checks again because it
// is the layer that would otherwise hand the name to the host kernel.
#pragma once

#include <climits>
#include <cstring>
#include <string_view>

#include "vfs/wire/result.h"

namespace vfs::host {

// A NUL-terminated copy of a validated single component, on the stack.
class ComponentName {
  public:
    // EINVAL for empty, "/"-containing or NUL-containing names; ENAMETOOLONG past
    // NAME_MAX. "." and ".." pass; callers that must not see them use is_dot_or_dotdot.
    static vfs::wire::Result<ComponentName> from(std::string_view name) {
        if (name.empty() || name.find('/') != std::string_view::npos ||
            name.find('\0') != std::string_view::npos)
            return vfs::wire::Error{EINVAL};
        if (name.size() > NAME_MAX) return vfs::wire::Error{ENAMETOOLONG};
        ComponentName n;
        std::memcpy(n.buf_, name.data(), name.size());
        n.buf_[name.size()] = '\0';
        n.len_ = name.size();
        return n;
    }

    const char* c_str() const { return buf_; }
    std::string_view view() const { return {buf_, len_}; }
    bool is_dot_or_dotdot() const { return view() == "." || view() == ".."; }

  private:
    char buf_[NAME_MAX + 1] = {};
    size_t len_ = 0;
};

}  // namespace vfs::host
