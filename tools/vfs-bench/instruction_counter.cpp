#include "instruction_counter.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

extern char** environ;

namespace vfs::bench {

namespace {

// Runs argv with its output discarded; its exit status, or -1 if it could not start.
int run_quietly(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const std::string& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return -1;
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The highest N of the dump files "<prefix>N" in dir (0 if none).
unsigned latest_dump(const std::string& dir, const std::string& prefix) {
    unsigned best = 0;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return 0;
    while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.compare(0, prefix.size(), prefix) != 0 || n.size() == prefix.size()) continue;
        char* end = nullptr;
        const unsigned long v = strtoul(n.c_str() + prefix.size(), &end, 10);
        if (*end == '\0' && v > best) best = static_cast<unsigned>(v);
    }
    ::closedir(d);
    return best;
}

}  // namespace

InstructionCounter::InstructionCounter(std::string valgrind, std::string control,
                                       std::string out_dir)
    : valgrind_(std::move(valgrind)), control_(std::move(control)), out_dir_(std::move(out_dir)) {}

std::vector<std::string> InstructionCounter::wrap(const std::vector<std::string>& argv,
                                                  const std::string& name) const {
    std::vector<std::string> out = {valgrind_,
                                    "--tool=callgrind",
                                    "--trace-children=yes",
                                    "--collect-systime=yes",
                                    "--vgdb=yes",
                                    "--callgrind-out-file=" + out_dir_ + "/" + name + ".cg.%p"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

std::string InstructionCounter::zero(pid_t pid) const {
    if (run_quietly({control_, "--zero", std::to_string(pid)}) != 0)
        return control_ + " --zero failed";
    return {};
}

std::string InstructionCounter::dump(pid_t pid, const std::string& name,
                                     InstructionCounts* out) const {
    const std::string prefix = name + ".cg." + std::to_string(pid) + ".";
    const unsigned before = latest_dump(out_dir_, prefix);
    if (run_quietly({control_, "--dump=" + name, std::to_string(pid)}) != 0)
        return control_ + " --dump failed";
    // The dump is written before callgrind_control returns; allow for a slow file system.
    for (int waited = 0; waited < 5000; waited += 50) {
        const unsigned now = latest_dump(out_dir_, prefix);
        if (now > before) {
            std::ifstream f(out_dir_ + "/" + prefix + std::to_string(now));
            std::stringstream ss;
            ss << f.rdbuf();
            if (parse_callgrind_totals(ss.str(), out)) return {};
        }
        ::usleep(50 * 1000);
    }
    return "no readable callgrind dump " + out_dir_ + "/" + prefix + "N";
}

bool parse_callgrind_totals(const std::string& text, InstructionCounts* out) {
    std::vector<std::string> events;
    std::vector<double> totals;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const bool is_events = line.rfind("events:", 0) == 0;
        const bool is_totals = line.rfind("totals:", 0) == 0 || line.rfind("summary:", 0) == 0;
        if (!is_events && !is_totals) continue;
        std::istringstream fields(line.substr(line.find(':') + 1));
        if (is_events) {
            events.clear();
            for (std::string e; fields >> e;)
                events.push_back(e);
        } else {
            totals.clear();
            for (double v; fields >> v;)
                totals.push_back(v);
        }
    }
    if (events.empty() || totals.empty()) return false;
    InstructionCounts c;
    bool have_ir = false;
    for (size_t i = 0; i < events.size(); ++i) {
        const double v = i < totals.size() ? totals[i] : 0;  // trailing zeros are omitted
        if (events[i] == "Ir") {
            c.instructions = v;
            have_ir = true;
        } else if (events[i] == "sysCount") {
            c.syscalls = v;
        }
    }
    if (!have_ir) return false;
    *out = c;
    return true;
}

}  // namespace vfs::bench
