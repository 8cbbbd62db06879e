// FindCoordinator: on a single node every group and transaction is coordinated here.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<find_coordinator_response> handle(request_context& ctx,
                                                  find_coordinator_request& req) {
  const auto& cfg = ctx.srv.config();
  find_coordinator_response resp;
  if (req.key_type != 0 && req.key_type != 1) {
    resp.error_code = to_wire(error_code::invalid_request);
    resp.error_message = "key_type must be 0 (group) or 1 (transaction)";
    co_return resp;
  }
  resp.error_message = std::nullopt;
  resp.node_id = cfg.node_id;
  resp.host = cfg.advertised_host;
  resp.port = cfg.advertised_port;
  co_return resp;
}

}  // namespace spate::kafka
