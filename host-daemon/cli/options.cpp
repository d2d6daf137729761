#include "cli/options.h"

#include <CLI/CLI.hpp>
#include <sstream>

#include "cli/compat_options.h"
#include "cli/id_options.h"
#include "cli/unbuilt_features.h"
#include "sandbox/capabilities.h"

#ifndef VFS_VERSION
#define VFS_VERSION "unknown"
#endif

namespace vfs::host::cli {

namespace {

constexpr size_t kMaxTagBytes = 36;  // virtio-fs config space: tag[36]

template <typename T>
std::vector<std::string> words_of(const std::map<std::string, T>& words) {
    std::vector<std::string> out;
    for (const auto& [word, value] : words)
        out.push_back(word);
    return out;
}

// An option whose value is one word of a table (option_values.h). Unlike CLI11's
// transformers this accepts only the words, never the enum's number.
template <typename T>
CLI::Option* add_word_option(CLI::App& app, const std::string& name, T& field,
                             const std::map<std::string, T>& words, const std::string& help,
                             bool* given = nullptr) {
    return app
        .add_option_function<std::string>(
            name,
            [&field, &words, given](const std::string& word) {
                field = *lookup_word(words, word);
                if (given) *given = true;
            },
            help)
        ->check(CLI::IsMember(words_of(words)))
        ->option_text("<" + word_list(words) + ">");
}

// Flags and options of one command line, bound to the Options they fill.
struct CommandLine {
    CLI::App app{
        "Serve a host directory to a virtual machine as a vhost-user virtio-fs "
        "device (a C++ drop-in for virtiofsd).",
        "virtiofsd-cxx"};
    std::vector<std::string> compat_lists;  // every -o argument, in order
    bool socket_alias_used = false;         // --socket (deprecated)
    bool debug_flag = false;                // -d / --debug
    bool foreground_flag = false;           // -f

    // --foo / --no-foo: whichever comes last on the command line wins.
    struct SwitchPair {
        CLI::Option* on;
        CLI::Option* off;
        bool* field;
    };
    std::vector<SwitchPair> switch_pairs;
    void apply_switch_pairs() const;

    explicit CommandLine(Options& o);
};

CommandLine::CommandLine(Options& o) {
    app.get_formatter()->column_width(36);
    app.footer(
        "Flags of Rust virtiofsd and QEMU's C virtiofsd are accepted with the same meaning. "
        "Flags whose feature is not built yet (ID mapping, migration) are refused at start-up with "
        "a message naming them.");
    app.set_version_flag("-V,--version", "virtiofsd-cxx " VFS_VERSION,
                         "Print the version and exit");

    // Where the front-end connects.
    auto* socket_path =
        app.add_option("--socket-path", o.socket_path,
                       "Create and listen on this vhost-user socket (a stale socket file "
                       "there is replaced). Give exactly one of --socket-path and --fd.")
            ->option_text("<PATH>");
    auto* socket = app.add_option_function<std::string>(
                          "--socket",
                          [this, &o](const std::string& path) {
                              o.socket_path = path;
                              socket_alias_used = true;
                          },
                          "Old name of --socket-path (deprecated)")
                       ->option_text("<PATH>")
                       ->excludes(socket_path);
    auto* fd = app.add_option("--fd", o.fd,
                              "Serve the vhost-user socket inherited as this file descriptor, "
                              "already bound and listening (not yet connected)")
                   ->check(CLI::NonNegativeNumber)
                   ->option_text("<FD>")
                   ->excludes(socket_path)
                   ->excludes(socket);
    app.add_option_function<std::string>(
           "--socket-group", [&o](const std::string& group) { o.socket_group = group; },
           "Give this group (name or number) the socket file and let its members connect "
           "(mode 0770); not with --fd")
        ->option_text("<GROUP>")
        ->excludes(fd);

    // What is served.
    app.add_option("--shared-dir", o.fs.shared_dir,
                   "The host directory the guest sees (required, or -o source=)")
        ->option_text("<DIR>");
    app.add_option_function<std::string>(
           "--tag", [&o](const std::string& tag) { o.tag = tag; },
           "Mount tag the device reports in its config space (1 to 36 bytes). Offers the "
           "vhost-user CONFIG protocol feature: QEMU 7.1 to 8.0 crash when a backend offers "
           "it, and later QEMU ignores it, so with QEMU set the tag on -device "
           "vhost-user-fs-pci,tag=... instead")
        ->check(CLI::Validator(
            [](std::string& tag) {
                return tag.empty() || tag.size() > kMaxTagBytes
                           ? std::string("the tag must be 1 to 36 bytes long")
                           : std::string();
            },
            ""))
        ->option_text("<TAG>");
    app.add_flag("--readonly", o.fs.readonly,
                 "Refuse every change to the shared directory (EROFS to the guest)");

    // Caching and FUSE features.
    add_word_option(app, "--cache", o.fs.cache, cache_mode_words(),
                    "How long the guest may cache: never (no caching, direct I/O), metadata "
                    "(cache attributes and names, not data), auto (short timeouts, data "
                    "cached until the file changes), always (long timeouts, data kept "
                    "across opens) [default: auto]");
    app.add_flag("--allow-mmap", o.fs.allow_mmap,
                 "Let the guest mmap files shared with cache=never or cache=metadata. Only "
                 "safe when nothing else changes the shared directory");
    app.add_flag("--writeback", o.fs.writeback,
                 "Let the guest kernel buffer writes and send them later (writeback cache)");
    app.add_flag("--allow-direct-io", o.fs.allow_direct_io,
                 "Open files with O_DIRECT when the guest asks for it (otherwise the flag is "
                 "dropped)");
    app.add_flag_callback(
        "--no-readdirplus", [&o] { o.fs.readdirplus = false; },
        "Do not offer READDIRPLUS (names and attributes in one reply). Always off with "
        "--cache=never, where the attributes would be thrown away");
    app.add_flag("--xattr", o.fs.xattr, "Serve extended attributes");
    app.add_flag("--posix-acl", o.fs.posix_acl,
                 "Let the guest enforce and change POSIX ACLs (implies --xattr)");
    const auto plain_flag = [this](const std::string& name, const std::string& help) {
        return app.add_flag(name)->description(help);
    };
    switch_pairs.push_back(
        {plain_flag("--announce-submounts",
                    "Report host mount points inside the shared directory to the guest, "
                    "which then shows them as separate mounts with their own inode numbers "
                    "[default]"),
         plain_flag("--no-announce-submounts",
                    "Do not report mount points: the guest sees one filesystem"),
         &o.fs.announce_submounts});
    switch_pairs.push_back(
        {plain_flag("--killpriv-v2",
                    "Offer FUSE_HANDLE_KILLPRIV_V2: the daemon, not the guest, clears "
                    "setuid/setgid bits on write, truncate and chown"),
         plain_flag("--no-killpriv-v2", "Do not offer KILLPRIV_V2 [default]"), &o.fs.killpriv_v2});
    app.add_flag("--preserve-noatime", o.fs.preserve_noatime,
                 "Keep the guest's O_NOATIME on open (otherwise it is dropped, because an "
                 "unprivileged daemon gets EPERM for files it does not own)");
    add_word_option(app, "--inode-file-handles", o.fs.inode_file_handles,
                    inode_file_handles_words(),
                    "Hold looked-up inodes by file handle instead of an open O_PATH "
                    "descriptor, so a guest walking a huge tree cannot exhaust the fd limit "
                    "(needs CAP_DAC_READ_SEARCH). prefer (old name: fallback) falls back to "
                    "descriptors where handles do not work; mandatory refuses to start "
                    "without them [default: never]");

    // Performance knobs.
    app.add_option("--thread-pool-size", o.thread_pool_size,
                   "Threads per request queue for calls that may block (metadata, small "
                   "buffered writes), so a slow one does not hold up the queue; 0 serves "
                   "every request on the queue's worker thread, as virtiofsd's default does "
                   "[default: 0]")
        ->option_text("<N>");
    app.add_option("--poll-us", o.poll_us,
                   "After the last request, each queue thread spins on its rings for up to N "
                   "microseconds (the guest's kicks off) before it sleeps, like vhost's "
                   "busyloop: a synchronous request then needs no wake-up, at the cost of a "
                   "CPU kept busy while requests keep coming; 0 to 1000000 [default: 0, off]")
        ->check(CLI::Range(0u, 1000000u))
        ->option_text("<N>");
    app.add_option_function<std::string>(
           "--hiprio-thread", [&o](const std::string& v) { o.hiprio_own_thread = v == "own"; },
           "Which thread serves the high-priority queue (FORGET, INTERRUPT): shared, the first "
           "request queue's, so a LOOKUP and its FORGET wake one thread; own, a thread of its "
           "own [default: shared]")
        ->check(CLI::IsMember({"shared", "own"}))
        ->option_text("<shared|own>");
    app.add_option("--num-queues", o.num_queues,
                   "Queues offered to the front-end: one high-priority queue plus request "
                   "queues [default: 65]")
        ->check(CLI::Range(2u, 256u))
        ->option_text("<N>");
    app.add_option_function<std::string>(
           "--dax-window",
           [&o](const std::string& text) { o.dax_window = parse_size(text).value_or(0); },
           "Size of the DAX window (bytes, or with a K, M or G suffix), up to 16G; 0 means no "
           "DAX. With a window the daemon offers vhost-user shared memory (SHMEM, QEMU 11.1+) "
           "and maps file ranges into it for FUSE SETUPMAPPING. QEMU's vhost-user-fs-pci has "
           "no window: use -device vhost-user-test-device-pci,chardev=CHR,virtio-id=26,"
           "num_vqs=N,config_size=40 with N equal to --num-queues [default: 0]")
        ->check(CLI::Validator(
            [](std::string& text) {
                const auto v = parse_size(text);
                if (!v) return std::string("give a size such as 0, 64M or 1G");
                if (*v % 4096 != 0) return std::string("the window must be whole 4 KiB pages");
                if (*v > (16ull << 30)) return std::string("the window is at most 16G");
                return std::string();
            },
            ""))
        ->option_text("<SIZE>");

    // Isolation, as virtiofsd's defaults (sandbox/ holds each step).
    add_word_option(app, "--sandbox", o.sandbox, sandbox_words(),
                    "How the daemon confines itself to the shared directory: namespace (new "
                    "pid, mount and network namespaces, the share made the root with "
                    "pivot_root; a user namespace when not root), chroot (root only), or none "
                    "[default: namespace]",
                    &o.sandbox_given);
    add_word_option(app, "--seccomp", o.seccomp, seccomp_words(),
                    "What the seccomp filter does with a system call outside the daemon's "
                    "list: kill the process, log it (and allow it), trap (SIGSYS, logged; "
                    "the call fails with ENOSYS), or none (no filter) [default: kill]",
                    &o.seccomp_given);
    app.add_option_function<std::string>(
           "--modcaps", [&o](const std::string& caps) { o.modcaps = caps; },
           "Add or remove capabilities from the set kept after start-up (chown, "
           "dac_override, fowner, fsetid, setgid, setuid, mknod, setfcap, and "
           "dac_read_search with file handles), e.g. -mknod or +sys_admin:-chown")
        ->option_text("<CAPS>");

    // Translations: --xattrmap and the ID rules are parsed and checked in parse_options.
    app.add_option_function<std::string>(
           "--xattrmap", [&o](const std::string& map) { o.xattrmap = map; },
           "Rules that rename extended attributes between guest and host, in virtiofsd's "
           "language, e.g. :map::user.virtiofs.: (implies --xattr)")
        ->option_text("<RULES>");
    app.add_option("--uid-map", o.uid_map,
                   "Map host UIDs into the sandbox's user namespace, given as "
                   ":namespace_uid:host_uid:count: (repeatable; --sandbox=namespace). E.g. "
                   ":0:100000:65536: makes host 100000-165535 the namespace's 0-65535, and "
                   "the daemon its root. Root writes the map itself; unprivileged, "
                   "newuidmap does")
        ->allow_extra_args(false)
        ->option_text("<MAP>");
    app.add_option("--gid-map", o.gid_map, "Like --uid-map, for GIDs (newgidmap unprivileged)")
        ->allow_extra_args(false)
        ->option_text("<MAP>");
    app.add_option("--translate-uid", o.translate_uid,
                   "Translate UIDs between guest and host in the daemon, given as "
                   "<type>:<source base>:<target base>:<count> (repeatable). Types: guest "
                   "(guest->host 1:1), host (host->guest 1:1), squash-guest (guest range -> "
                   "one host id), squash-host (host range -> one guest id), map "
                   "(map:<guest base>:<host base>:<count>, both ways), forbid-guest "
                   "(forbid-guest:<guest base>:<count>: EPERM). Unmapped ids stay the same. "
                   "Not with --posix-acl")
        ->allow_extra_args(false)
        ->option_text("<RULE>");
    app.add_option("--translate-gid", o.translate_gid, "Like --translate-uid, for GIDs")
        ->allow_extra_args(false)
        ->option_text("<RULE>");
    app.add_flag("--security-label", o.security_label,
                 "Store the security label the guest sends on create (implies --xattr)");
    // Migration (QEMU's DEVICE_STATE transfer, docs/migration.md), virtiofsd's options.
    static const std::map<std::string, migration::Mode> kMigrationModes{
        {"find-paths", migration::Mode::kFindPaths},
        {"file-handles", migration::Mode::kFileHandles}};
    static const std::map<std::string, migration::OnError> kMigrationOnError{
        {"abort", migration::OnError::kAbort}, {"guest-error", migration::OnError::kGuestError}};
    add_word_option(app, "--migration-mode", o.migration.mode, kMigrationModes,
                    "How the source names each inode for the destination: its path inside "
                    "the share (find-paths), or its file handle (file-handles: both ends on "
                    "one file system, needs CAP_DAC_READ_SEARCH) [default: find-paths]");
    add_word_option(app, "--migration-on-error", o.migration.on_error, kMigrationOnError,
                    "An inode or open file that cannot be migrated fails the migration "
                    "(abort), or answers EIO to the guest afterwards (guest-error) [default: "
                    "abort]");
    app.add_flag("--migration-verify-handles", o.migration.verify_handles,
                 "find-paths: the source sends file handles too, and the destination checks "
                 "it opened the very same inodes");
    app.add_flag("--migration-confirm-paths", o.migration.confirm_paths,
                 "find-paths: the source opens every path again before sending it and checks "
                 "it still leads to the same inode");

    // Logging and the process.
    add_word_option(app, "--log-level", o.log_level, log_level_words(),
                    "Least severe message logged (err is QEMU's name for error) [default: "
                    "info]");
    app.add_flag("-d,--debug", debug_flag, "Same as --log-level=debug (deprecated)");
    app.add_flag("--syslog", o.syslog, "Log to syslog instead of stderr");
    app.add_flag("--daemonize", o.daemonize,
                 "Detach into the background once the socket is listening (logs go to "
                 "syslog)");
    app.add_flag("-f", foreground_flag,
                 "Stay in the foreground; that is the default already (deprecated)");
    app.add_option_function<uint64_t>(
           "--rlimit-nofile", [&o](uint64_t n) { o.rlimit_nofile = n; },
           "Limit on open files to set at start-up; 0 leaves the limit as it is. Capped at the "
           "hard limit, with a warning [default: min(1000000, /proc/sys/fs/nr_open)]")
        ->option_text("<N>");
    app.add_flag("--print-capabilities", o.print_capabilities,
                 "Print the vhost-user.json backend description and exit");
    app.add_option("-o", compat_lists,
                   "Options in C virtiofsd's form, comma-separated or repeated (deprecated): "
                   "source=DIR, cache=none|auto|always|metadata, [no_]xattr, [no_]posix_acl, "
                   "[no_]readdirplus, [no_]writeback, [no_]allow_direct_io, "
                   "announce_submounts, [no_]killpriv_v2, log_level=LEVEL, debug, "
                   "timeout=SECONDS, max_idle_threads=N, allow_root (no effect), "
                   "[no_]posix_lock, [no_]flock (remote locks, default off), and, "
                   "sandbox=namespace|chroot|none, modcaps=CAPS, xattrmap=RULES, "
                   "[no_]security_label")
        ->allow_extra_args(false)
        ->option_text("<OPTIONS>");
}

void CommandLine::apply_switch_pairs() const {
    for (const CLI::Option* given : app.parse_order()) {
        for (const auto& pair : switch_pairs) {
            if (given == pair.on) *pair.field = true;
            if (given == pair.off) *pair.field = false;
        }
    }
}

ParseResult failure(std::string message) {
    ParseResult r;
    r.exit_status = 1;
    r.error = std::move(message);
    return r;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += l + "\n";
    return out;
}

}  // namespace

ParseResult parse_options(int argc, const char* const* argv) {
    Options o;
    CommandLine cl(o);
    try {
        cl.app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Help and version go to stdout with status 0; errors come back as a message.
        std::ostringstream err;
        ParseResult r;
        // CLI11's own codes say which check failed; like virtiofsd, callers get 1.
        r.exit_status = cl.app.exit(e, std::cout, err) == 0 ? 0 : 1;
        r.error = err.str();
        return r;
    }

    cl.apply_switch_pairs();
    ParseResult r;
    if (cl.debug_flag) {
        o.log_level = spdlog::level::debug;
        r.warnings.push_back("-d is deprecated: use --log-level=debug");
    }
    if (cl.foreground_flag)
        r.warnings.push_back(
            "-f has no effect: the daemon stays in the "
            "foreground unless given --daemonize");
    if (!cl.compat_lists.empty()) {
        r.warnings.push_back(
            "the -o option form is deprecated: use the --flag form (e.g. "
            "--cache=auto instead of -o cache=auto)");
    }
    for (const auto& list : cl.compat_lists) {
        if (auto err = apply_compat_options(list, o, r.warnings)) return failure(*err + "\n");
    }
    // --print-capabilities answers a question about the binary; nothing else matters.
    if (o.print_capabilities) {
        r.options = std::move(o);
        return r;
    }

    if (o.socket_path.empty() && o.fd < 0) {
        return failure("give the vhost-user socket: --socket-path=PATH or --fd=FD\n");
    }
    if (o.fs.shared_dir.empty()) {
        return failure("give the directory to share: --shared-dir=DIR or -o source=DIR\n");
    }
    if (auto errors = unbuilt_feature_errors(o); !errors.empty()) {
        return failure(join_lines(errors));
    }
    if (o.xattrmap) {
        auto map = XattrMap::parse(*o.xattrmap);
        if (const auto* err = std::get_if<std::string>(&map)) return failure(*err + "\n");
        o.fs.xattrmap = std::make_shared<const XattrMap>(std::move(std::get<XattrMap>(map)));
    }
    o.fs.security_label = o.security_label;
    if (auto err = apply_id_options(o)) return failure(*err + "\n");
    if (o.modcaps) {
        auto changes = sandbox::parse_modcaps(*o.modcaps);
        if (const auto* err = std::get_if<std::string>(&changes)) return failure(*err + "\n");
    }
    if (cl.socket_alias_used) {
        r.warnings.push_back("--socket is deprecated: use --socket-path");
    }
    if (o.dax_window != 0 && cl.app.count("--num-queues") == 0)
        r.warnings.push_back(
            "--dax-window without --num-queues: 65 queues are announced (64 request "
            "queues); QEMU's vhost-user-test-device-pci must then have num_vqs=65, or "
            "Linux refuses the device (probe error -22)");
    if (o.dax_window != 0 && o.dax_window % (2u << 20) != 0)
        r.warnings.push_back(
            "--dax-window is not a multiple of 2 MiB: Linux maps 2 MiB ranges and leaves the "
            "rest unused");
    if (o.dax_window > 512ull << 20)
        r.warnings.push_back(
            "--dax-window above 512M: at most 256 mappings are live at once (each is a memory "
            "slot in QEMU), so a Linux guest cannot use more than 512 MiB of it");
    r.options = std::move(o);
    return r;
}

FsOptions filesystem_options(const Options& o) {
    FsOptions f = o.fs;
    // ACLs live in the system.posix_acl_* extended attributes.
    // --xattrmap and --security-label work on xattrs too, as in virtiofsd.
    f.xattr = f.xattr || f.posix_acl || f.xattrmap || f.security_label;
    // With cache=never the guest drops the attributes a READDIRPLUS reply carries, so it
    // would only cost a stat per entry (virtiofsd turns it off too).
    if (f.cache == CacheMode::kNever) f.readdirplus = false;
    return f;
}

}  // namespace vfs::host::cli
