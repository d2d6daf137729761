// Queue notifiers (see queue_attach.h); Frontend::attach_queue is in frontend.cpp.
#include "queue_attach.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace vfs::frontend {

vfs::wire::Result<QueueNotifiers> QueueNotifiers::create() {
    QueueNotifiers n;
    n.kick_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    n.call_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    n.err_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!n.kick_.valid() || !n.call_.valid() || !n.err_.valid()) return vfs::wire::Error{errno};
    return n;
}

uint64_t QueueNotifiers::take_calls() const {
    uint64_t v = 0;
    return ::read(call_.get(), &v, sizeof(v)) == sizeof(v) ? v : 0;
}

}  // namespace vfs::frontend
