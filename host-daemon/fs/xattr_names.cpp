#include "fs/xattr_names.h"

#include <errno.h>
#include <sys/xattr.h>

#include <cstring>
#include <string>

#include "fs/passthrough_fs.h"

namespace vfs::host {

vfs::wire::Result<size_t> mapped_listxattr(int fd, const XattrMap& map, char* buf, size_t cap) {
    // The whole host list is needed even for the size probe: the mapped size differs.
    // A list that grows between the two calls is read again.
    std::string host;
    for (int attempt = 0; attempt < 3; ++attempt) {
        const ssize_t need = flistxattr(fd, nullptr, 0);
        if (need < 0) return vfs::wire::Error{errno};
        host.resize(static_cast<size_t>(need));
        const ssize_t got = flistxattr(fd, host.data(), host.size());
        if (got >= 0) {
            host.resize(static_cast<size_t>(got));
            const std::string shown = map.map_server_list(host);
            if (cap == 0) return shown.size();
            if (shown.size() > cap) return vfs::wire::Error{ERANGE};
            memcpy(buf, shown.data(), shown.size());
            return shown.size();
        }
        if (errno != ERANGE) return vfs::wire::Error{errno};
    }
    return vfs::wire::Error{EAGAIN};
}

Result<std::string> PassthroughFs::host_xattr_name(std::string_view name) const {
    if (!opts_.xattrmap) return std::string(name);
    auto mapped = opts_.xattrmap->map_client(name);
    if (mapped.error != 0) return Error{mapped.error};
    return std::move(mapped.host_name);
}

}  // namespace vfs::host
