// TEMPORARY: a stand-in RequestHandler until the FUSE server lands. It answers FUSE_INIT
// properly and every other request with ENOSYS (FORGET and BATCH_FORGET get no reply, as
// FUSE says), so the vhost-user transport can be tested end to end.
//
// It parses by hand with <linux/fuse.h> because the common/ codec had not landed when it
// was written. Delete it when the FUSE server replaces it; it must never grow into one.
#pragma once

#include "queue/request_handler.h"

namespace vfs::host {

class InitOnlyHandler final : public RequestHandler {
  public:
    void handle(QueueContext& ctx, RequestSlot& slot) override;
};

}  // namespace vfs::host
