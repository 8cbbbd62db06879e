// ListOffsets: -2 gives the log start offset (earliest), -1 the log end (latest, the high
// watermark on one node), any other timestamp the first offset whose record timestamp is at
// or after it with that record's timestamp (or -1 if none), looked up on the partition's owner
// core.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<list_offsets_response> handle(request_context& ctx, list_offsets_request& req) {
  auto& srv = ctx.srv;
  list_offsets_response resp;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    auto topic = srv.topics().find(t.name);
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition_index = p.partition_index;
      if (!topic || p.partition_index < 0 ||
          p.partition_index >= static_cast<int32_t>(topic->partitions.size())) {
        pr.error_code = to_wire(error_code::unknown_topic_or_partition);
        continue;
      }
      auto part = topic->partitions[static_cast<size_t>(p.partition_index)];
      co_await srv.cores().run_on(part->owner, [&] {
        auto& log = *part->log;
        if (p.timestamp == -2) {
          pr.offset = log.log_start().value;
        } else if (p.timestamp == -1) {
          pr.offset = log.log_end().value;
        } else {
          auto found = log.offset_for_timestamp(timestamp_ms(p.timestamp));
          if (!found) {
            pr.error_code = to_wire(to_kafka_error(found.error()));
          } else if (*found) {
            // The found record's timestamp, not the requested one (Kafka's
            // TimestampAndOffset); v0 has no timestamp field and ignores it.
            pr.offset = (*found)->off.value;
            pr.timestamp = (*found)->timestamp.value;
          }
        }
      });
      pr.old_style_offsets = {pr.offset};  // v0 form
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
