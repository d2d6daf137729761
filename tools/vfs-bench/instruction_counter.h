// --instructions: the daemon runs under Valgrind's callgrind, and each timed cell reads
// how many user-space instructions (and system calls) the daemon spent on it. Callgrind
// counts instructions exactly, so on a machine shared with other work, where wall-clock
// rates swing by tens of percent, the figure still compares builds and backends. It
// covers every daemon thread, but not kernel time: the syscall count stands in for that.
//
// The counters are zeroed just before the cell's first request and dumped just after its
// last reply (callgrind_control, through Valgrind's gdbserver), so start-up, INIT and the
// workload's untimed set-up are not counted.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace vfs::bench {

struct InstructionCounts {
    double instructions = 0;  // callgrind's Ir
    double syscalls = 0;      // callgrind's sysCount
};

class InstructionCounter {
  public:
    // valgrind and callgrind_control are looked up in PATH unless given as paths.
    InstructionCounter(std::string valgrind, std::string control, std::string out_dir);

    // argv prefixed so the daemon runs under callgrind (children followed, so a wrapper
    // script's exec of the real binary is measured too), its dumps in out_dir named
    // `name`.
    std::vector<std::string> wrap(const std::vector<std::string>& argv,
                                  const std::string& name) const;

    // Zeroes pid's counters; an empty string on success, else why not.
    std::string zero(pid_t pid) const;
    // Dumps the counters pid (started by wrap() as `name`) gathered since zero() and reads
    // them back; an empty string on success.
    std::string dump(pid_t pid, const std::string& name, InstructionCounts* out) const;

  private:
    std::string valgrind_, control_, out_dir_;
};

// The totals of one callgrind dump file ("events:" names the columns, "totals:" or
// "summary:" holds them); false if the file has neither.
bool parse_callgrind_totals(const std::string& text, InstructionCounts* out);

}  // namespace vfs::bench
