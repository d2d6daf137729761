#include "migration/state_transfer.h"

#include <errno.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "migration/state_format.h"
#include "migration/state_load.h"
#include "migration/state_save.h"

namespace vfs::host::migration {

using vfs::wire::Error;
using vfs::wire::Status;

StateTransfer::~StateTransfer() {
    if (worker_.joinable()) worker_.join();
}

Status StateTransfer::begin_transfer(vhost_user::StateDirection dir, UniqueFd fd) {
    if (worker_.joinable()) worker_.join();  // a transfer never checked: superseded
    result_.store(EINPROGRESS);
    const bool saving = dir == vhost_user::StateDirection::kSave;
    try {
        worker_ = std::thread([this, saving, f = std::move(fd)]() mutable {
            result_.store(saving ? save(f.get()) : load(f.get()));
            // Closing is the end of the stream for the reader (save), and tells a writer
            // that stopped early (load refused) that nobody reads on.
            f.reset();
        });
    } catch (const std::system_error&) {
        return Error{EAGAIN};
    }
    return {};
}

Status StateTransfer::finish_transfer() {
    if (!worker_.joinable()) return Error{EINVAL};
    worker_.join();
    const int r = result_.load();
    if (r != 0) return Error{r};
    return {};
}

int StateTransfer::save(int fd) {
    try {
        auto s = save_state(fs_, session_, opts_);
        if (!s) return s.error();
        const std::vector<uint8_t> bytes = encode(*s);
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                spdlog::error("migration: writing the state: {}", strerror(errno));
                return errno;
            }
            done += static_cast<size_t>(n);
        }
        spdlog::info("migration: state sent ({} bytes)", bytes.size());
        return 0;
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    }
}

int StateTransfer::load(int fd) {
    try {
        std::vector<uint8_t> bytes;
        constexpr size_t kMaxStream = kStreamHeaderBytes + kMaxBodyBytes;
        constexpr size_t kChunk = 64 * 1024;
        for (;;) {
            const size_t at = bytes.size();
            if (at > kMaxStream) {
                spdlog::error("migration: incoming state larger than {} bytes; refused",
                              kMaxStream);
                return E2BIG;
            }
            bytes.resize(at + kChunk);
            const ssize_t n = ::read(fd, bytes.data() + at, kChunk);
            if (n < 0 && errno == EINTR) {
                bytes.resize(at);
                continue;
            }
            if (n < 0) {
                spdlog::error("migration: reading the state: {}", strerror(errno));
                return errno;
            }
            bytes.resize(at + static_cast<size_t>(n));
            if (n == 0) break;
        }
        auto s = decode(bytes);
        if (!s) {
            spdlog::error("migration: incoming state ({} bytes) refused: {}", bytes.size(),
                          strerror(s.error()));
            return s.error();
        }
        Status applied = load_state(fs_, session_, *s, opts_);
        return applied ? 0 : applied.error();
    } catch (const std::bad_alloc&) {
        return ENOMEM;
    }
}

}  // namespace vfs::host::migration
