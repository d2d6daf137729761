// Fuzzes the FUSE server: each input is a sequence of raw requests (in header and
// arguments, split over up to three readable segments, with up to three writable segments
// for the reply), parsed and served by FuseServer over a real PassthroughFs on a temp
// share, as a queue worker would serve them. A canary file and a directory beside the share
// must never change: checked after every input, abort() if they did.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "fs/passthrough_fs.h"
#include "fuse/fuse_server.h"
#include "one_slot_queue.h"

namespace fs = std::filesystem;
using namespace vfs::host;

namespace {

constexpr char kCanaryText[] = "the canary: nothing outside the share may change me\n";
constexpr uint32_t kMaxWritable = 16 << 10;
constexpr int kRebuildShareEvery = 500;

std::string g_top;
struct stat g_canary_st {};
std::set<std::string> g_top_entries;
int g_runs = 0;

std::set<std::string> entries(const std::string& dir) {
    std::set<std::string> out;
    for (auto& e : fs::directory_iterator(dir))
        out.insert(e.path().filename().string());
    return out;
}

void build_share() {
    const std::string share = g_top + "/share";
    std::error_code ec;
    fs::remove_all(share, ec);
    fs::create_directories(share + "/d/e");
    std::ofstream(share + "/a") << "hello, fuzzer";
    std::ofstream(share + "/d/b") << std::string(10000, 'b');
    // Ways out that must stay closed: relative and absolute symlinks, to the canary too.
    fs::create_symlink("../canary", share + "/up");
    fs::create_symlink(g_top + "/canary", share + "/abs");
    fs::create_symlink("/", share + "/root");
    fs::create_directory_symlink("../outside", share + "/d/out");
}

void check_canary() {
    struct stat st {};
    const std::string canary = g_top + "/canary";
    if (::lstat(canary.c_str(), &st) != 0) abort();
    if (st.st_ino != g_canary_st.st_ino || st.st_mode != g_canary_st.st_mode ||
        st.st_uid != g_canary_st.st_uid || st.st_gid != g_canary_st.st_gid ||
        st.st_size != g_canary_st.st_size || st.st_nlink != g_canary_st.st_nlink ||
        st.st_mtim.tv_sec != g_canary_st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != g_canary_st.st_mtim.tv_nsec ||
        st.st_ctim.tv_nsec != g_canary_st.st_ctim.tv_nsec) {
        fprintf(stderr, "CANARY CHANGED: %s\n", canary.c_str());
        abort();
    }
    std::ifstream f(canary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (text != kCanaryText) abort();
    if (entries(g_top) != g_top_entries || !entries(g_top + "/outside").empty()) {
        fprintf(stderr, "SOMETHING APPEARED BESIDE THE SHARE in %s\n", g_top.c_str());
        abort();
    }
}

void cleanup() {
    std::error_code ec;
    if (!g_top.empty()) fs::remove_all(g_top, ec);
}

// INIT with what a Linux guest asks for, so inputs start in a live session.
std::vector<uint8_t> init_request() {
    std::vector<uint8_t> b(sizeof(fuse_in_header) + sizeof(fuse_init_in));
    fuse_in_header h{};
    h.len = static_cast<uint32_t>(b.size());
    h.opcode = FUSE_INIT;
    h.unique = 1;
    h.nodeid = FUSE_ROOT_ID;
    fuse_init_in in{};
    in.major = FUSE_KERNEL_VERSION;
    in.minor = FUSE_KERNEL_MINOR_VERSION;
    in.max_readahead = 128 << 10;
    in.flags = FUSE_ASYNC_READ | FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES | FUSE_INIT_EXT |
               FUSE_DONT_MASK | FUSE_HANDLE_KILLPRIV_V2 | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS;
    memcpy(b.data(), &h, sizeof(h));
    memcpy(b.data() + sizeof(h), &in, sizeof(in));
    return b;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    char tmpl[] = "/tmp/vfs-fuzz-fuse-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    g_top = tmpl;
    atexit(cleanup);
    std::ofstream(g_top + "/canary") << kCanaryText;
    ::chmod((g_top + "/canary").c_str(), 0600);
    fs::create_directory(g_top + "/outside");
    build_share();
    if (::lstat((g_top + "/canary").c_str(), &g_canary_st) != 0) abort();
    g_top_entries = entries(g_top);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (++g_runs % kRebuildShareEvery == 0) build_share();
    FsOptions opts;
    opts.shared_dir = g_top + "/share";
    FuzzedDataProvider in(data, size);
    opts.xattr = in.ConsumeBool();
    opts.posix_lock = in.ConsumeBool();
    opts.flock = in.ConsumeBool();
    opts.killpriv_v2 = in.ConsumeBool();
    auto pfs = PassthroughFs::create(opts);
    if (!pfs) abort();
    FuseServer server(**pfs, opts);
    {
        auto handler = server.start_queue(1, 1);
        vfs::testing::OneSlotQueue queue;
        if (!queue.ready()) abort();
        static std::vector<uint8_t> writable(3 * kMaxWritable);
        auto serve = [&](std::vector<uint8_t>& req, FuzzedDataProvider* split) {
            vfs::wire::Segment rd[3], wr[3];
            uint32_t nr = 0, nw = 0;
            size_t at = 0;
            const uint32_t pieces = split ? split->ConsumeIntegralInRange<uint32_t>(1, 3) : 1;
            for (uint32_t i = 0; i < pieces && at < req.size(); ++i) {
                size_t len = req.size() - at;
                if (i + 1 < pieces && split) len = split->ConsumeIntegralInRange<size_t>(1, len);
                rd[nr++] = {req.data() + at, static_cast<uint32_t>(len)};
                at += len;
            }
            const uint32_t nwant = split ? split->ConsumeIntegralInRange<uint32_t>(0, 3) : 1;
            for (uint32_t i = 0; i < nwant; ++i) {
                const uint32_t len =
                    split ? split->ConsumeIntegralInRange<uint32_t>(1, kMaxWritable) : 4096;
                wr[nw++] = {writable.data() + i * kMaxWritable, len};
            }
            (void)queue.run(*handler, rd, nr, wr, nw);
        };
        std::vector<uint8_t> init = init_request();
        if (in.ConsumeIntegral<uint8_t>() != 0xff) serve(init, nullptr);
        for (int n = 0; n < 16 && in.remaining_bytes() > 0; ++n) {
            const size_t len = in.ConsumeIntegralInRange<size_t>(0, 4096);
            std::vector<uint8_t> req = in.ConsumeBytes<uint8_t>(len);
            // Usually a header whose length is right, so the arguments get looked at.
            if (req.size() >= sizeof(fuse_in_header) && in.ConsumeBool()) {
                const auto l = static_cast<uint32_t>(req.size());
                memcpy(req.data(), &l, sizeof(l));
            }
            serve(req, &in);
            if (queue.broken) break;
        }
    }
    check_canary();
    return 0;
}
