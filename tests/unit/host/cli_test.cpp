// virtiofsd-cxx's command line: real command lines from QEMU's docs, libvirt, and both
// virtiofsd implementations must parse to the options they mean; unbuilt features must
// be refused by name; bad values must fail.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/capabilities.h"
#include "cli/id_options.h"
#include "cli/option_values.h"
#include "cli/options.h"
#include "cli/process_setup.h"

namespace vfs::host::cli {
namespace {

ParseResult parse(std::vector<std::string> args) {
    args.insert(args.begin(), "virtiofsd-cxx");
    std::vector<const char*> argv;
    for (const auto& a : args)
        argv.push_back(a.c_str());
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

// Parses a command line that must be accepted, and returns its options.
Options accepted(const std::vector<std::string>& args) {
    auto r = parse(args);
    EXPECT_TRUE(r.options) << r.error;
    EXPECT_EQ(r.exit_status, 0);
    return r.options.value_or(Options{});
}

// Parses a command line that must be refused, and returns the message.
std::string refused(const std::vector<std::string>& args) {
    auto r = parse(args);
    EXPECT_FALSE(r.options);
    EXPECT_NE(r.exit_status, 0);
    EXPECT_FALSE(r.error.empty());
    return r.error;
}

bool has_warning_containing(const ParseResult& r, const std::string& text) {
    for (const auto& w : r.warnings)
        if (w.find(text) != std::string::npos) return true;
    return false;
}

// QEMU's docs (C virtiofsd) and libvirt's generated command line both use this form.
TEST(CliCommandLines, QemuDocsCompatForm) {
    const Options o = accepted({"--socket-path=/tmp/s", "-o", "source=/srv,cache=none,xattr"});
    EXPECT_EQ(o.socket_path, "/tmp/s");
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(f.shared_dir, "/srv");
    EXPECT_EQ(f.cache, CacheMode::kNever);
    EXPECT_TRUE(f.xattr);
    EXPECT_FALSE(f.readdirplus) << "cache=never turns READDIRPLUS off";
}

TEST(CliCommandLines, RustVirtiofsdReadmeForm) {
    const Options o = accepted({"--socket-path", "/tmp/s", "--shared-dir", "/srv", "--cache=never",
                                "--sandbox=none", "--xattr", "--announce-submounts"});
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(o.socket_path, "/tmp/s");
    EXPECT_EQ(f.shared_dir, "/srv");
    EXPECT_EQ(f.cache, CacheMode::kNever);
    EXPECT_TRUE(f.xattr);
    EXPECT_TRUE(f.announce_submounts);
    EXPECT_EQ(o.sandbox, Sandbox::kNone);
}

// The hiprio queue shares the first request queue's thread unless told otherwise.
TEST(CliCommandLines, HiprioThreadIsSharedByDefault) {
    EXPECT_FALSE(accepted({"--socket-path=/s", "--shared-dir=/d"}).hiprio_own_thread);
    EXPECT_FALSE(accepted({"--socket-path=/s", "--shared-dir=/d", "--hiprio-thread=shared"})
                     .hiprio_own_thread);
    EXPECT_TRUE(
        accepted({"--socket-path=/s", "--shared-dir=/d", "--hiprio-thread=own"}).hiprio_own_thread);
    EXPECT_FALSE(refused({"--socket-path=/s", "--shared-dir=/d", "--hiprio-thread=both"}).empty());
}

// --poll-us: off unless asked for, 0..1000000, and a value out of range names the flag.
TEST(CliCommandLines, PollUsIsOffByDefaultAndRangeChecked) {
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d"}).poll_us, 0u);
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--poll-us=50"}).poll_us, 50u);
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--poll-us", "0"}).poll_us, 0u);
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--poll-us=1000000"}).poll_us,
              1000000u);
    for (const char* bad : {"--poll-us=1000001", "--poll-us=-1", "--poll-us=soon",
                            "--poll-us=4294967346", "--poll-us="}) {
        const std::string msg = refused({"--socket-path=/s", "--shared-dir=/d", bad});
        EXPECT_NE(msg.find("--poll-us"), std::string::npos) << bad << ": " << msg;
    }
}

// libvirt passes a listening socket by fd and the rest as -o.
TEST(CliCommandLines, LibvirtFdForm) {
    const Options o = accepted({"--fd=3", "-o", "source=/var/lib/share", "-o", "cache=always", "-o",
                                "no_xattr", "--thread-pool-size=16"});
    EXPECT_EQ(o.fd, 3);
    EXPECT_TRUE(o.socket_path.empty());
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(f.shared_dir, "/var/lib/share");
    EXPECT_EQ(f.cache, CacheMode::kAlways);
    EXPECT_FALSE(f.xattr);
    EXPECT_EQ(o.thread_pool_size, 16u);
}

// What Debian bookworm's libvirt 9.0 ran for <binary xattr='on'><cache mode='always'/>
// <lock posix='on' flock='on'/></binary> (e2e_libvirt_virtiofs_domain records it): one
// -o list, whatever the capabilities JSON says; <thread_pool size='N'/> adds
// --thread-pool-size and qemu.conf's virtiofsd_debug adds -d.
TEST(CliCommandLines, Libvirt9CommandLine) {
    const Options o =
        accepted({"--fd=30", "-o", "source=/srv/share,cache=always,xattr,flock,posix_lock"});
    EXPECT_EQ(o.fd, 30);
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(f.shared_dir, "/srv/share");
    EXPECT_EQ(f.cache, CacheMode::kAlways);
    EXPECT_TRUE(f.xattr);
    EXPECT_TRUE(f.flock);
    EXPECT_TRUE(f.posix_lock);

    const Options off =
        accepted({"--fd=30", "-o", "source=/srv/share,cache=none,no_xattr,no_flock,no_posix_lock",
                  "--thread-pool-size=4", "-d"});
    const FsOptions g = filesystem_options(off);
    EXPECT_EQ(g.cache, CacheMode::kNever);
    EXPECT_FALSE(g.xattr);
    EXPECT_FALSE(g.flock);
    EXPECT_FALSE(g.posix_lock);
    EXPECT_EQ(off.thread_pool_size, 4u);
    EXPECT_EQ(off.log_level, spdlog::level::debug);
}

TEST(CliCommandLines, RepeatedCompatOptionsApplyInOrder) {
    const Options o = accepted({"--socket-path=/tmp/s", "--shared-dir=/srv", "-o", "cache=always",
                                "-o", "no_xattr", "-o", "xattr,cache=metadata"});
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(f.cache, CacheMode::kMetadata);
    EXPECT_TRUE(f.xattr);
}

TEST(CliCommandLines, CompatOptionsOverrideFlags) {
    const Options o = accepted({"--socket-path=/tmp/s", "--shared-dir=/a", "--cache=always", "-o",
                                "source=/b", "-o", "cache=auto"});
    EXPECT_EQ(o.fs.shared_dir, "/b");
    EXPECT_EQ(o.fs.cache, CacheMode::kAuto);
}

TEST(CliCommandLines, InodeFileHandleModes) {
    EXPECT_EQ(filesystem_options(accepted({"--socket-path=/s", "--shared-dir=/a",
                                           "--inode-file-handles=fallback"}))
                  .inode_file_handles,
              InodeFileHandles::kPrefer);
    EXPECT_EQ(filesystem_options(accepted({"--socket-path=/s", "--shared-dir=/a",
                                           "--inode-file-handles=mandatory"}))
                  .inode_file_handles,
              InodeFileHandles::kMandatory);
}

TEST(CliCommandLines, DefaultsMatchRustVirtiofsd) {
    const auto r = parse({"--socket-path=/tmp/s", "--shared-dir=/srv"});
    ASSERT_TRUE(r.options) << r.error;
    const FsOptions f = filesystem_options(*r.options);
    EXPECT_EQ(f.cache, CacheMode::kAuto);
    EXPECT_EQ(f.inode_file_handles, InodeFileHandles::kNever);
    EXPECT_FALSE(f.readonly);
    EXPECT_FALSE(f.writeback);
    EXPECT_FALSE(f.allow_direct_io);
    EXPECT_FALSE(f.allow_mmap);
    EXPECT_TRUE(f.readdirplus);
    EXPECT_FALSE(f.xattr);
    EXPECT_FALSE(f.posix_acl);
    EXPECT_TRUE(f.announce_submounts);
    EXPECT_FALSE(f.killpriv_v2);
    EXPECT_FALSE(f.preserve_noatime);
    EXPECT_FALSE(f.posix_lock);
    EXPECT_FALSE(f.flock);
    EXPECT_FALSE(f.entry_attr_timeout_s);
    EXPECT_EQ(r.options->log_level, spdlog::level::info);
    EXPECT_EQ(r.options->thread_pool_size, 0u);
    EXPECT_FALSE(r.options->tag);
    // Confinement defaults to virtiofsd's, with nothing to warn about.
    EXPECT_EQ(r.options->sandbox, Sandbox::kNamespace);
    EXPECT_EQ(r.options->seccomp, Seccomp::kKill);
    EXPECT_FALSE(r.options->modcaps);
    EXPECT_FALSE(has_warning_containing(r, "sandbox"));
    EXPECT_FALSE(has_warning_containing(r, "seccomp"));
}

// Every built sandbox and seccomp value, in both forms, is accepted (none was refused
// by name before they were built).
TEST(CliCommandLines, SandboxSeccompAndModcapsValuesAreAccepted) {
    const std::vector<std::pair<std::vector<std::string>, Sandbox>> sandboxes{
        {{"--sandbox=namespace"}, Sandbox::kNamespace},
        {{"--sandbox=chroot"}, Sandbox::kChroot},
        {{"--sandbox=none"}, Sandbox::kNone},
        {{"-o", "sandbox=namespace"}, Sandbox::kNamespace},
        {{"-o", "sandbox=chroot"}, Sandbox::kChroot},
    };
    for (const auto& [extra, want] : sandboxes) {
        std::vector<std::string> args{"--socket-path=/tmp/s", "--shared-dir=/srv"};
        args.insert(args.end(), extra.begin(), extra.end());
        EXPECT_EQ(accepted(args).sandbox, want) << extra.back();
    }
    const std::vector<std::pair<std::string, Seccomp>> seccomps{{"kill", Seccomp::kKill},
                                                                {"log", Seccomp::kLog},
                                                                {"trap", Seccomp::kTrap},
                                                                {"none", Seccomp::kNone}};
    for (const auto& [word, want] : seccomps)
        EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--seccomp=" + word}).seccomp,
                  want);
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--modcaps=+sys_admin:-chown"})
                  .modcaps.value_or(""),
              "+sys_admin:-chown");
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "-o", "modcaps=-MKNOD"})
                  .modcaps.value_or(""),
              "-MKNOD");
}

// --modcaps in virtiofsd's syntax; a bad entry is named at start-up.
TEST(CliCommandLines, BadModcapsAreNamed) {
    for (const char* spec : {"+nosuchcap", "-chown:+nosuchcap", "chown", "+", "+chown::"}) {
        const std::string msg =
            refused({"--socket-path=/s", "--shared-dir=/d", std::string("--modcaps=") + spec});
        EXPECT_NE(msg.find("--modcaps"), std::string::npos) << spec << ": " << msg;
    }
    EXPECT_NE(
        refused({"--socket-path=/s", "--shared-dir=/d", "--modcaps=+nosuchcap"}).find("nosuchcap"),
        std::string::npos);
}

TEST(CliCommandLines, EveryFsFlag) {
    const Options o =
        accepted({"--socket-path=/tmp/s", "--shared-dir=/srv", "--cache=metadata", "--readonly",
                  "--writeback", "--allow-direct-io", "--allow-mmap", "--no-readdirplus",
                  "--posix-acl", "--no-announce-submounts", "--killpriv-v2", "--preserve-noatime",
                  "--inode-file-handles=never", "--tag=myfs", "--num-queues=5"});
    const FsOptions f = filesystem_options(o);
    EXPECT_EQ(f.cache, CacheMode::kMetadata);
    EXPECT_TRUE(f.readonly);
    EXPECT_TRUE(f.writeback);
    EXPECT_TRUE(f.allow_direct_io);
    EXPECT_TRUE(f.allow_mmap);
    EXPECT_FALSE(f.readdirplus);
    EXPECT_TRUE(f.posix_acl);
    EXPECT_TRUE(f.xattr) << "--posix-acl implies --xattr";
    EXPECT_FALSE(f.announce_submounts);
    EXPECT_TRUE(f.killpriv_v2);
    EXPECT_TRUE(f.preserve_noatime);
    EXPECT_EQ(o.tag, "myfs");
    EXPECT_EQ(o.num_queues, 5u);
}

TEST(CliCommandLines, NegatedFlagsLastOneWins) {
    EXPECT_TRUE(
        accepted({"--socket-path=/s", "--shared-dir=/d", "--no-killpriv-v2", "--killpriv-v2"})
            .fs.killpriv_v2);
    EXPECT_FALSE(
        accepted({"--socket-path=/s", "--shared-dir=/d", "--killpriv-v2", "--no-killpriv-v2"})
            .fs.killpriv_v2);
    EXPECT_TRUE(accepted({"--socket-path=/s", "--shared-dir=/d", "--no-announce-submounts",
                          "--announce-submounts"})
                    .fs.announce_submounts);
}

TEST(CliCommandLines, EveryCompatSwitch) {
    const Options on = accepted(
        {"--socket-path=/s", "-o",
         "source=/d,readdirplus,writeback,allow_direct_io,announce_submounts,killpriv_v2,"
         "posix_acl,no_posix_lock,no_flock,no_security_label,timeout=2.5,max_idle_threads=4,"
         "allow_root,sandbox=none"});
    const FsOptions f = filesystem_options(on);
    EXPECT_TRUE(f.readdirplus);
    EXPECT_TRUE(f.writeback);
    EXPECT_TRUE(f.allow_direct_io);
    EXPECT_TRUE(f.announce_submounts);
    EXPECT_TRUE(f.killpriv_v2);
    EXPECT_TRUE(f.posix_acl);
    EXPECT_TRUE(f.xattr);
    ASSERT_TRUE(f.entry_attr_timeout_s);
    EXPECT_DOUBLE_EQ(*f.entry_attr_timeout_s, 2.5);
    EXPECT_DOUBLE_EQ(CachePolicy::from(f).entry_timeout_s, 2.5);
    EXPECT_DOUBLE_EQ(CachePolicy::from(f).attr_timeout_s, 2.5);

    const Options off = accepted(
        {"--socket-path=/s", "--shared-dir=/d", "--writeback", "--allow-direct-io", "--xattr", "-o",
         "no_readdirplus,no_writeback,no_allow_direct_io,no_killpriv_v2,no_posix_acl"});
    const FsOptions g = filesystem_options(off);
    EXPECT_FALSE(g.readdirplus);
    EXPECT_FALSE(g.writeback);
    EXPECT_FALSE(g.allow_direct_io);
    EXPECT_FALSE(g.killpriv_v2);
    EXPECT_FALSE(g.posix_acl);
    EXPECT_TRUE(g.xattr);
}

TEST(CliCommandLines, CompatOptionGluedToFlag) {
    // fuse_opt (C virtiofsd) and CLI11 both accept "-osource=...".
    EXPECT_EQ(accepted({"--socket-path=/s", "-osource=/d"}).fs.shared_dir, "/d");
}

TEST(CliCommandLines, DeprecatedSocketAlias) {
    const auto r = parse({"--socket=/tmp/old", "--shared-dir=/d"});
    ASSERT_TRUE(r.options) << r.error;
    EXPECT_EQ(r.options->socket_path, "/tmp/old");
    EXPECT_TRUE(has_warning_containing(r, "--socket-path"));
}

TEST(CliCommandLines, LogLevels) {
    using spdlog::level::level_enum;
    const std::vector<std::pair<std::string, level_enum>> cases{
        {"error", level_enum::err}, {"err", level_enum::err},     {"warn", level_enum::warn},
        {"info", level_enum::info}, {"debug", level_enum::debug}, {"trace", level_enum::trace},
        {"off", level_enum::off}};
    for (const auto& [word, level] : cases) {
        EXPECT_EQ(
            accepted({"--socket-path=/s", "--shared-dir=/d", "--log-level=" + word}).log_level,
            level)
            << word;
    }
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "-d"}).log_level, level_enum::debug);
    EXPECT_EQ(accepted({"--socket-path=/s", "-o", "source=/d,debug"}).log_level, level_enum::debug);
    EXPECT_EQ(accepted({"--socket-path=/s", "-o", "source=/d,log_level=err"}).log_level,
              level_enum::err);
    EXPECT_EQ(accepted({"--socket-path=/s", "-o", "source=/d,loglevel=warn"}).log_level,
              level_enum::warn);
}

TEST(CliCommandLines, ProcessFlags) {
    const Options o = accepted({"--socket-path=/s", "--shared-dir=/d", "--syslog", "--daemonize",
                                "-f", "--socket-group=kvm", "--rlimit-nofile=4096"});
    EXPECT_TRUE(o.syslog);
    EXPECT_TRUE(o.daemonize);
    EXPECT_EQ(o.socket_group, "kvm");
    EXPECT_EQ(o.rlimit_nofile, 4096u);
    EXPECT_EQ(accepted({"--socket-path=/s", "--shared-dir=/d", "--rlimit-nofile=0"}).rlimit_nofile,
              0u);
    EXPECT_FALSE(accepted({"--socket-path=/s", "--shared-dir=/d"}).rlimit_nofile);
}

TEST(CliCommandLines, PrintCapabilitiesNeedsNothingElse) {
    const Options o = accepted({"--print-capabilities"});
    EXPECT_TRUE(o.print_capabilities);
    const std::string json = vhost_user_capabilities_json();
    EXPECT_NE(json.find("\"type\": \"fs\""), std::string::npos);
    EXPECT_NE(json.find("separate-options"), std::string::npos);
    // As virtiofsd 1.13: libvirt migrates a virtiofs domain only with this one.
    EXPECT_NE(json.find("migrate-precopy"), std::string::npos);
}

TEST(CliCommandLines, MigrationOptionsParse) {
    const Options d = accepted({"--socket-path=/tmp/s", "--shared-dir=/srv"});
    EXPECT_EQ(d.migration.mode, vfs::host::migration::Mode::kFindPaths);
    EXPECT_EQ(d.migration.on_error, vfs::host::migration::OnError::kAbort);
    EXPECT_FALSE(d.migration.verify_handles);
    EXPECT_FALSE(d.migration.confirm_paths);
    const Options o = accepted({"--socket-path=/tmp/s", "--shared-dir=/srv",
                                "--migration-mode=file-handles", "--migration-on-error=guest-error",
                                "--migration-verify-handles", "--migration-confirm-paths"});
    EXPECT_EQ(o.migration.mode, vfs::host::migration::Mode::kFileHandles);
    EXPECT_EQ(o.migration.on_error, vfs::host::migration::OnError::kGuestError);
    EXPECT_TRUE(o.migration.verify_handles);
    EXPECT_TRUE(o.migration.confirm_paths);
    EXPECT_FALSE(
        parse({"--socket-path=/tmp/s", "--shared-dir=/srv", "--migration-mode=paths"}).options);
}

TEST(CliCommandLines, HelpAndVersionExitZero) {
    for (const char* flag : {"--help", "-h", "--version", "-V"}) {
        const auto r = parse({flag});
        EXPECT_FALSE(r.options) << flag;
        EXPECT_EQ(r.exit_status, 0) << flag;
    }
}

// Every virtiofsd 1.13 option is built: none is refused as unbuilt any more.
TEST(CliUnbuiltFeatures, NoneAreLeft) {
    const std::vector<std::vector<std::string>> cases{
        {"--xattrmap=:map::user.virtiofs.:"},
        {"-o", "xattrmap=:map::user.virtiofs.:"},
        {"--translate-uid=map:1000:101000:1"},
        {"--translate-gid=map:1000:101000:1"},
        {"--security-label"},
        {"-o", "security_label"},
        {"--migration-mode=file-handles"},
        {"--migration-on-error=guest-error"},
        {"--migration-verify-handles"},
        {"--migration-confirm-paths"},
    };
    for (const auto& extra : cases) {
        std::vector<std::string> args{"--socket-path=/tmp/s", "--shared-dir=/srv"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = parse(args);
        ASSERT_TRUE(r.options) << extra.back() << ": " << r.error;
        // Migration is complete (the dirty-page log is built): no start-up warning.
        EXPECT_FALSE(has_warning_containing(r, "dirty-page logging")) << extra.back();
        EXPECT_FALSE(has_warning_containing(r, "refuses to migrate")) << extra.back();
    }
}

// Id mapping is built: the rules reach the filesystem, and a bad one is a start-up error
// naming the flag and the rule.
TEST(CliIdMapping, TranslationRulesReachTheFilesystem) {
    const FsOptions f = filesystem_options(accepted(
        {"--socket-path=/s", "--shared-dir=/d", "--translate-uid=map:1000:101000:1",
         "--translate-uid", "forbid-guest:0:1000", "--translate-gid=squash-guest:0:5:10"}));
    EXPECT_EQ(f.ids.uid.to_host(1000), 101000u);
    EXPECT_FALSE(f.ids.uid.to_host(0));
    EXPECT_EQ(f.ids.uid.to_guest(101000), 1000u);
    EXPECT_EQ(f.ids.gid.to_host(9), 5u);
    EXPECT_TRUE(filesystem_options(accepted({"--socket-path=/s", "--shared-dir=/d"})).ids.empty());
}

TEST(CliIdMapping, BadRulesAndMapsAreNamed) {
    const std::vector<std::string> base{"--socket-path=/s", "--shared-dir=/d"};
    auto with = [&](std::vector<std::string> extra) {
        auto args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return refused(args);
    };
    std::string msg = with({"--translate-gid=map:1:x:1"});
    EXPECT_NE(msg.find("--translate-gid 'map:1:x:1': field 3 'x'"), std::string::npos) << msg;
    msg = with({"--translate-uid=map:1:2:3", "--translate-uid=guest:2:9:1"});
    EXPECT_NE(msg.find("overlap"), std::string::npos) << msg;
    msg = with({"--translate-uid=map:1:2:3", "--posix-acl"});
    EXPECT_NE(msg.find("--posix-acl"), std::string::npos) << msg;
    msg = with({"--uid-map=:0:100000:65536"});
    EXPECT_NE(msg.find("--uid-map ':0:100000:65536'"), std::string::npos) << msg;
    msg = with({"--gid-map=:0:100000:65536:", "--sandbox=none"});
    EXPECT_NE(msg.find("--sandbox=namespace"), std::string::npos) << msg;
    // Accepted with the namespace sandbox (the default); the sandbox gets the ranges.
    const auto maps =
        cli::sandbox_id_maps(accepted({"--socket-path=/s", "--shared-dir=/d",
                                       "--uid-map=:0:100000:65536:", "--uid-map=:65536:1000:1:"}));
    ASSERT_EQ(maps.uid.size(), 2u);
    EXPECT_EQ(maps.uid[1].outside, 1000u);
    EXPECT_TRUE(maps.gid.empty());
}

// Remote locks are built: -o posix_lock / -o flock reach the filesystem (default off, as
// in QEMU's virtiofsd), and the last word on the command line wins.
TEST(CliRemoteLocks, PosixLockAndFlockAreAcceptedAndReachTheFilesystem) {
    const FsOptions both = filesystem_options(
        accepted({"--socket-path=/s", "--shared-dir=/d", "-o", "posix_lock,flock"}));
    EXPECT_TRUE(both.posix_lock);
    EXPECT_TRUE(both.flock);
    const FsOptions off = filesystem_options(
        accepted({"--socket-path=/s", "--shared-dir=/d", "-o", "posix_lock,no_posix_lock"}));
    EXPECT_FALSE(off.posix_lock);
    const FsOptions flock_off = filesystem_options(
        accepted({"--socket-path=/s", "--shared-dir=/d", "-o", "flock", "-o", "no_flock"}));
    EXPECT_FALSE(flock_off.flock);
}

// --xattrmap and --security-label are built: both forms reach the filesystem and imply
// --xattr; a rule that does not parse is a start-up error naming the rule and position.
TEST(CliXattrMap, AcceptedInBothFormsAndImpliesXattr) {
    for (const auto& extra : std::vector<std::vector<std::string>>{
             {"--xattrmap=:map::user.virtiofs.:"}, {"-o", "xattrmap=:map::user.virtiofs.:"}}) {
        std::vector<std::string> args{"--socket-path=/s", "--shared-dir=/d"};
        args.insert(args.end(), extra.begin(), extra.end());
        const FsOptions f = filesystem_options(accepted(args));
        ASSERT_TRUE(f.xattrmap) << extra.back();
        EXPECT_EQ(f.xattrmap->map_client("trusted.a").host_name, "user.virtiofs.trusted.a");
        EXPECT_TRUE(f.xattr);
    }
    for (const auto& extra :
         std::vector<std::vector<std::string>>{{"--security-label"}, {"-o", "security_label"}}) {
        std::vector<std::string> args{"--socket-path=/s", "--shared-dir=/d"};
        args.insert(args.end(), extra.begin(), extra.end());
        const FsOptions f = filesystem_options(accepted(args));
        EXPECT_TRUE(f.security_label) << extra.back();
        EXPECT_TRUE(f.xattr);
    }
}

TEST(CliXattrMap, BadRulesAreRefusedWithTheirPosition) {
    const std::string msg = refused(
        {"--socket-path=/s", "--shared-dir=/d", "--xattrmap=:ok:all::: :prefix:nowhere:::"});
    EXPECT_NE(msg.find("rule 2 (character 19): unknown scope 'nowhere'"), std::string::npos) << msg;
}

TEST(CliBadCommandLines, BadValuesFail) {
    const std::vector<std::vector<std::string>> cases{
        {"--cache=bogus"},
        {"--cache=none"},  // the -o spelling is not a --cache value (as in Rust virtiofsd)
        {"-o", "cache=bogus"},
        {"-o", "cache=never"},
        {"-o", "nosuchoption"},
        {"-o", "nosuch=1"},
        {"-o", "timeout=soon"},
        {"-o", "max_idle_threads=-1"},
        {"-o", "log_level=loud"},
        {"--log-level=loud"},
        {"--sandbox=jail"},
        {"--seccomp=maybe"},
        {"--inode-file-handles=sometimes"},
        {"--num-queues=1"},
        {"--tag="},
        {"--tag=0123456789012345678901234567890123456"},  // 37 bytes
        {"--rlimit-nofile=lots"},
        {"--no-such-flag"},
        {"stray-positional"},
    };
    for (const auto& extra : cases) {
        std::vector<std::string> args{"--socket-path=/tmp/s", "--shared-dir=/srv"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto r = parse(args);
        EXPECT_FALSE(r.options) << extra.back();
        EXPECT_NE(r.exit_status, 0) << extra.back();
    }
}

TEST(CliBadCommandLines, BadCompatValueNamesIt) {
    EXPECT_NE(refused({"--socket-path=/s", "-o", "source=/d,cache=bogus"}).find("bogus"),
              std::string::npos);
    EXPECT_NE(refused({"--socket-path=/s", "-o", "source=/d,nosuchoption"}).find("nosuchoption"),
              std::string::npos);
}

TEST(CliBadCommandLines, ExactlyOneSocket) {
    EXPECT_NE(refused({"--shared-dir=/d"}).find("--socket-path"), std::string::npos);
    refused({"--shared-dir=/d", "--socket-path=/a", "--fd=3"});
    refused({"--shared-dir=/d", "--socket-path=/a", "--socket=/b"});
    refused({"--shared-dir=/d", "--socket=/b", "--fd=3"});
    refused({"--shared-dir=/d", "--fd=-1"});
    refused({"--shared-dir=/d", "--fd=3", "--socket-group=kvm"});
}

TEST(CliBadCommandLines, SharedDirRequired) {
    EXPECT_NE(refused({"--socket-path=/s"}).find("--shared-dir"), std::string::npos);
    EXPECT_NE(refused({"--socket-path=/s", "-o", "cache=none"}).find("source="), std::string::npos);
}

TEST(CliDax, SizesTakeKMGSuffixes) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("4096"), 4096u);
    EXPECT_EQ(parse_size("64K"), 64u << 10);
    EXPECT_EQ(parse_size("16M"), 16u << 20);
    EXPECT_EQ(parse_size("2MiB"), 2u << 20);
    EXPECT_EQ(parse_size("1G"), 1ull << 30);
    EXPECT_EQ(parse_size("8g"), 8ull << 30);
    EXPECT_FALSE(parse_size(""));
    EXPECT_FALSE(parse_size("M"));
    EXPECT_FALSE(parse_size("-1M"));
    EXPECT_FALSE(parse_size("1T"));
    EXPECT_FALSE(parse_size("1.5G"));
    EXPECT_FALSE(parse_size("16 M"));
    EXPECT_FALSE(parse_size("99999999999999999999"));
    EXPECT_FALSE(parse_size("9000000000G"));  // past 2^63
}

TEST(CliDax, DaxWindowDefaultsToNoneAndParses) {
    EXPECT_EQ(accepted({"--socket-path=/tmp/s", "--shared-dir=/tmp"}).dax_window, 0u);
    const Options o = accepted(
        {"--socket-path=/tmp/s", "--shared-dir=/tmp", "--dax-window=1G", "--num-queues=2"});
    EXPECT_EQ(o.dax_window, 1ull << 30);
    EXPECT_EQ(o.num_queues, 2u);
    EXPECT_EQ(accepted({"--socket-path=/tmp/s", "--shared-dir=/tmp", "--dax-window=0"}).dax_window,
              0u);
}

TEST(CliDax, BadWindowsAreRefused) {
    for (const char* bad : {"--dax-window=abc", "--dax-window=1000", "--dax-window=17G",
                            "--dax-window=-2M", "--dax-window="}) {
        const std::string msg = refused({"--socket-path=/tmp/s", "--shared-dir=/tmp", bad});
        EXPECT_NE(msg.find("dax-window"), std::string::npos) << bad << ": " << msg;
    }
}

TEST(CliDax, WindowWithDefaultQueueCountWarns) {
    auto r = parse({"--socket-path=/tmp/s", "--shared-dir=/tmp", "--dax-window=16M"});
    ASSERT_TRUE(r.options) << r.error;
    bool warned = false;
    for (const auto& w : r.warnings)
        warned = warned || w.find("num_vqs") != std::string::npos;
    EXPECT_TRUE(warned);
    auto quiet =
        parse({"--socket-path=/tmp/s", "--shared-dir=/tmp", "--dax-window=16M", "--num-queues=2"});
    ASSERT_TRUE(quiet.options);
    for (const auto& w : quiet.warnings)
        EXPECT_EQ(w.find("num_vqs"), std::string::npos) << w;
}

}  // namespace
}  // namespace vfs::host::cli

// Review finding 10: --socket-group used to chown and chmod the socket by path after
// bind, so a symlink swapped into a writable socket folder made the root daemon give any
// file to the group. Only a socket at the path itself may change group.
TEST(SocketGroup, NeverFollowsASymlinkSwappedInForTheSocket) {
    char tmpl[] = "/tmp/vfs-sockgrp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl, target = dir + "/precious", link = dir + "/vhost.sock";
    std::ofstream(target) << "root's file";
    ASSERT_EQ(::chmod(target.c_str(), 0600), 0);
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    struct stat before {};
    ASSERT_EQ(::stat(target.c_str(), &before), 0);
    EXPECT_TRUE(vfs::host::cli::give_socket_to_group(link, "nogroup").has_value());
    struct stat after {};
    ASSERT_EQ(::stat(target.c_str(), &after), 0);
    EXPECT_EQ(after.st_gid, before.st_gid);
    EXPECT_EQ(after.st_mode, before.st_mode);
    std::filesystem::remove_all(dir);
}
