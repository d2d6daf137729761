// The migration state's transfer for the vhost-user layer (vhost_user::DeviceStateHandler):
// one thread per SET_DEVICE_STATE_FD that writes the encoded state to the front-end's pipe
// (save) or reads it to EOF, decodes and applies it (load); CHECK_DEVICE_STATE joins it.
#pragma once

#include <atomic>
#include <thread>

#include "fs/passthrough_fs.h"
#include "fuse/session.h"
#include "migration/migration_options.h"
#include "vhost_user/device_state.h"

namespace vfs::host::migration {

class StateTransfer final : public vhost_user::DeviceStateHandler {
  public:
    StateTransfer(PassthroughFs& fs, Session& session, Options opts)
        : fs_(fs), session_(session), opts_(opts) {}
    ~StateTransfer() override;

    vfs::wire::Status begin_transfer(vhost_user::StateDirection dir, UniqueFd fd) override;
    vfs::wire::Status finish_transfer() override;

  private:
    int save(int fd);
    int load(int fd);

    PassthroughFs& fs_;
    Session& session_;
    Options opts_;
    std::thread worker_;
    std::atomic<int> result_{0};  // the worker's errno; 0 for success
};

}  // namespace vfs::host::migration
