// DeleteRecords: moves each partition's log start offset (offset -1 means the high
// watermark), on the partition's owner core. Whole segments below it are deleted at once; the
// new start is durable before the response.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<delete_records_response> handle(request_context& ctx, delete_records_request& req) {
  auto& srv = ctx.srv;
  delete_records_response resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    auto topic = srv.topics().find(t.name);
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      pr.low_watermark = -1;
      if (!topic || p.partition_index < 0 ||
          p.partition_index >= static_cast<int32_t>(topic->partitions.size())) {
        pr.error_code = to_wire(error_code::unknown_topic_or_partition);
        continue;
      }
      auto part = topic->partitions[static_cast<size_t>(p.partition_index)];
      co_await srv.cores().run_on(part->owner, [&] {
        offset target = p.offset == -1 ? part->log->log_end() : offset(p.offset);
        auto moved = part->log->delete_records(target);
        if (!moved) {
          pr.error_code = to_wire(to_kafka_error(moved.error()));
        } else {
          pr.low_watermark = moved->value;
        }
      });
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
