#include "share_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "content_pattern.h"

namespace vfs::bench {

using vfs::wire::Error;
using vfs::wire::Result;

std::string ShareLayout::many_name(uint32_t i) {
    char buf[16];
    snprintf(buf, sizeof(buf), "f%05u", i);
    return buf;
}

int64_t ShareLayout::many_index(const char* name, uint32_t len) {
    if (len != 6 || name[0] != 'f') return -1;
    int64_t v = 0;
    for (uint32_t i = 1; i < len; ++i) {
        if (name[i] < '0' || name[i] > '9') return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v < kManyCount ? v : -1;
}

namespace {

int write_all(int fd, const uint8_t* p, uint64_t len) {
    while (len > 0) {
        const ssize_t n = ::write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n;
        len -= static_cast<uint64_t>(n);
    }
    return 0;
}

}  // namespace

Result<std::unique_ptr<ShareLayout>> prepare_share(const std::string& root, uint64_t seed) {
    auto s = std::make_unique<ShareLayout>();
    s->root = root;
    s->read_seed = seed;
    std::error_code ec;
    for (const char* d : {ShareLayout::kManyDir, ShareLayout::kCreateDir, ShareLayout::kWriteDir}) {
        std::filesystem::remove_all(s->path(d), ec);
        if (::mkdir(s->path(d).c_str(), 0755) != 0) return Error{errno};
    }

    s->read_expected.reset(new uint8_t[ShareLayout::kReadBytes]);
    fill_pattern(s->read_expected.get(), seed, 0, ShareLayout::kReadBytes);
    const int fd = ::open(s->path(ShareLayout::kReadFile).c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Error{errno};
    const int err = write_all(fd, s->read_expected.get(), ShareLayout::kReadBytes);
    ::close(fd);
    if (err != 0) return Error{err};

    const std::string many = s->path(ShareLayout::kManyDir);
    s->many_inos.resize(ShareLayout::kManyCount);
    for (uint32_t i = 0; i < ShareLayout::kManyCount; ++i) {
        s->many_names.push_back(ShareLayout::many_name(i));
        const std::string p = many + "/" + s->many_names.back();
        const int f = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (f < 0) return Error{errno};
        struct stat st;
        const int r = ::fstat(f, &st);
        ::close(f);
        if (r != 0) return Error{errno};
        s->many_inos[i] = st.st_ino;
    }
    return s;
}

}  // namespace vfs::bench
