// OffsetDelete: removes committed offsets of a group with no members (a group still consuming
// gets GROUP_SUBSCRIBED_TO_TOPIC per partition), with tombstones so it lasts.
#include "kafka/coordinator/offset_records.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<offset_delete_response> handle(request_context& ctx, offset_delete_request& req) {
  auto& groups = ctx.srv.groups();
  offset_delete_response resp;
  std::vector<coordinator::topic_partition_key> parts;
  for (auto& t : req.topics) {
    for (auto& p : t.partitions) parts.emplace_back(t.name, p.partition_index);
  }
  auto e = co_await ctx.srv.cores().run_on(groups.core(), [&]() -> std::error_code {
    auto& gc = groups.coordinator();
    if (auto err = gc.delete_offsets(req.group_id, parts)) return err;
    std::vector<
        std::pair<coordinator::topic_partition_key, std::optional<coordinator::committed_offset>>>
        tombstones;
    for (auto& tp : parts) tombstones.emplace_back(tp, std::nullopt);
    if (tombstones.empty()) return {};
    auto batch = coordinator::encode_commit(req.group_id, tombstones, wall_now());
    auto appended = groups.offsets_log().append_internal(batch, wall_now());
    if (!appended) return appended.error().code;
    return {};
  });
  bool subscribed = e == coordinator::errc::non_empty_group;
  if (!subscribed) resp.error_code = to_wire(to_kafka_error(e));
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (auto& p : t.partitions) {
      tr.partitions.push_back(
          {p.partition_index,
           to_wire(subscribed ? error_code::group_subscribed_to_topic : error_code::none)});
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
