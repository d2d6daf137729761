// vfs-bench: benchmarks vhost-user-fs backends through the in-process frontend (no VM),
// side by side on the same files, against a native-syscall reference. See
// docs/benchmarks.md for how to read what it prints.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <filesystem>

#include "bench_options.h"
#include "bench_runner.h"
#include "report.h"
#include "share_layout.h"

using namespace vfs::bench;

int main(int argc, char** argv) {
    BenchOptions o;
    o.paths.ours = VFS_DAEMON_PATH;
    o.paths.peers_script = VFS_PEERS_SCRIPT;
    int code = 0;
    if (!parse_options(argc, argv, &o, &code)) return code;

    const bool temp_dir = o.dir.empty();
    if (temp_dir) {
        char tmpl[] = "/tmp/vfs-bench-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            perror("vfs-bench: mkdtemp");
            return 1;
        }
        o.dir = tmpl;
    } else if (::mkdir(o.dir.c_str(), 0755) != 0 && errno != EEXIST) {
        perror("vfs-bench: --dir");
        return 1;
    }
    const std::string share_dir = o.dir + "/share";
    if (::mkdir(share_dir.c_str(), 0755) != 0 && errno != EEXIST) {
        perror("vfs-bench: share directory");
        return 1;
    }
    fprintf(stderr, "vfs-bench: preparing %s\n", share_dir.c_str());
    auto share = prepare_share(share_dir, 0x5eed0000 + static_cast<uint64_t>(::getpid()));
    if (!share) {
        fprintf(stderr, "vfs-bench: preparing the shared directory failed: %s\n",
                strerror(share.error()));
        return 1;
    }

    const auto cells = run_matrix(o, **share, o.dir);

    printf("\n");
    print_tables(cells, o, TableStyle::kText, stdout);
    if (!o.markdown_path.empty()) {
        FILE* md = fopen(o.markdown_path.c_str(), "w");
        if (!md) {
            perror("vfs-bench: --markdown");
            return 1;
        }
        print_tables(cells, o, TableStyle::kMarkdown, md);
        fclose(md);
    }
    if (!o.json_path.empty() && !write_json(cells, o, o.json_path)) {
        fprintf(stderr, "vfs-bench: cannot write %s\n", o.json_path.c_str());
        return 1;
    }
    if (temp_dir) {
        std::error_code ec;
        std::filesystem::remove_all(o.dir, ec);
    }
    // A cell that ran and did not verify is a failure; an unavailable peer is not.
    for (const auto& c : cells)
        if (c.ran && !c.good()) return 1;
    return 0;
}
