// Command-line splitting (see cmdline.h).
#include "kernel/cmdline.h"

namespace vfs::guest {
namespace {
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n';
}
}  // namespace

int split_cmdline(char* buf, char** argv, int max_args) {
    int argc = 0;
    char* p = buf;
    while (*p) {
        while (is_space(*p))
            *p++ = '\0';
        if (!*p) break;
        if (argc == max_args) break;
        argv[argc++] = p;
        while (*p && !is_space(*p))
            ++p;
    }
    return argc;
}

const char* find_arg(int argc, char** argv, const char* key) {
    for (int i = 0; i < argc; ++i) {
        const char* a = argv[i];
        const char* k = key;
        while (*k && *a == *k)
            ++a, ++k;
        if (*k == '\0' && *a == '=') return a + 1;
    }
    return nullptr;
}

}  // namespace vfs::guest
