// Command-line parsing for the bench app (see params.h).
#include "apps/bench/params.h"

#include "apps/common/args.h"

namespace vfs::guest::bench {

int parse_list(const char* s, uint64_t* out) {
    if (!s || !*s) return 0;
    int n = 0;
    uint64_t v = 0;
    bool digits = false;
    for (;; ++s) {
        if (*s >= '0' && *s <= '9') {
            v = v * 10 + static_cast<uint64_t>(*s - '0');
            digits = true;
        } else if (*s == ',' || *s == '\0') {
            if (!digits || v == 0 || n == kMaxPoints) return 0;
            out[n++] = v;
            v = 0;
            digits = false;
            if (*s == '\0') return n;
        } else {
            return 0;
        }
    }
}

Params parse_params(int argc, char** argv) {
    Params p;
    p.tag = apps::arg_str(argc, argv, "tag", p.tag);
    p.mount = apps::arg_str(argc, argv, "mount", p.mount);
    p.machine = apps::arg_str(argc, argv, "machine", p.machine);
    p.qemu = apps::arg_str(argc, argv, "qemu", p.qemu);
    const char* sizes = find_arg(argc, argv, "sizes");
    const char* counts = find_arg(argc, argv, "counts");
    p.n_sizes = parse_list(sizes, p.sizes);
    if (p.n_sizes == 0 && !(sizes && apps::same(sizes, "none"))) {
        for (int e = 4; e <= 20; ++e)
            p.sizes[p.n_sizes++] = 1ull << e;
    }
    p.n_counts = parse_list(counts, p.counts);
    if (p.n_counts == 0 && !(counts && apps::same(counts, "none"))) {
        for (int e = 1; e <= 17; ++e)
            p.counts[p.n_counts++] = 1ull << e;
    }
    p.reps = static_cast<uint32_t>(apps::arg_u64(argc, argv, "reps", p.reps));
    p.file_reps = static_cast<uint32_t>(apps::arg_u64(argc, argv, "file_reps", p.file_reps));
    p.multiplier = apps::arg_u64(argc, argv, "multiplier", p.multiplier);
    p.scale = apps::arg_u64(argc, argv, "scale", p.scale);
    if (p.scale == 0) p.scale = 1;
    p.fixed_bytes = apps::arg_u64(argc, argv, "fixed_bytes", 0);
    p.budget_ms = apps::arg_u64(argc, argv, "budget_ms", 0);
    const char* dax = apps::arg_str(argc, argv, "dax", "never");
    if (apps::same(dax, "mapped"))
        p.dax = Params::Dax::kMapped;
    else if (apps::same(dax, "lazy") || apps::same(dax, "1"))
        p.dax = Params::Dax::kLazy;
    else if (apps::same(dax, "grow"))
        p.dax = Params::Dax::kGrow;
    p.write_behind = apps::arg_u64(argc, argv, "write_behind", 0) != 0;
    p.first_byte = apps::arg_str(argc, argv, "first_byte", p.first_byte);
    p.getattrs = apps::arg_u64(argc, argv, "getattr", 0);
    return p;
}

}  // namespace vfs::guest::bench
