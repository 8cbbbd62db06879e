// InitProducerId: gives an idempotent producer a fresh producer id with epoch 0
// (kafka-compat.md §11.1). Ids come from storage::producer_ids, reserved durably in blocks,
// so no id is ever handed out twice, even across a crash; the partitions track each id's
// sequences (storage/producer_state.h).
//
// A transactional id asks for the transaction coordinator, which Spate does not have yet:
// such a request is refused, and since neither FindCoordinator for transactions nor the
// transaction APIs are advertised, clients report transactions as unsupported before they
// get here.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "observe/log.h"

namespace spate::kafka {

asio::awaitable<init_producer_id_response> handle(request_context& ctx,
                                                  init_producer_id_request& req) {
  static const auto log = observe::logger("kafka");
  init_producer_id_response resp;
  if (req.transactional_id) {
    resp.error_code = to_wire(error_code::invalid_request);  // not retriable: fails clearly
    co_return resp;
  }
  auto pid = ctx.srv.producer_ids().next();
  if (!pid) {
    log->error("InitProducerId: cannot reserve producer ids: {}", pid.error().message());
    resp.error_code = to_wire(error_code::kafka_storage_error);
    co_return resp;
  }
  resp.producer_id = *pid;
  resp.producer_epoch = 0;
  co_return resp;
}

}  // namespace spate::kafka
