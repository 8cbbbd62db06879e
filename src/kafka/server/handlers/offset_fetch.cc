// OffsetFetch: committed offsets of a group (-1 where none); null topics (v2+) means every
// partition the group has committed.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<offset_fetch_response> handle(request_context& ctx, offset_fetch_request& req) {
  auto& groups = ctx.srv.groups();
  std::vector<coordinator::topic_partition_key> wanted;
  if (req.topics) {
    for (auto& t : *req.topics) {
      for (int32_t p : t.partition_indexes) wanted.emplace_back(t.name, p);
    }
  }
  bool all = !req.topics;
  auto offsets = co_await ctx.srv.cores().run_on(
      groups.core(), [&] { return groups.coordinator().offsets(req.group_id, wanted); });
  offset_fetch_response resp;
  std::map<std::string, std::vector<offset_fetch_response::offset_fetch_response_partition>>
      by_topic;
  for (auto& [tp, o] : offsets) {
    if (all && o.offset < 0) continue;
    offset_fetch_response::offset_fetch_response_partition p;
    p.partition_index = tp.second;
    p.committed_offset = o.offset;
    p.committed_leader_epoch = o.leader_epoch;
    p.metadata = o.metadata.value_or("");
    by_topic[tp.first].push_back(std::move(p));
  }
  for (auto& [name, parts] : by_topic) resp.topics.push_back({name, std::move(parts)});
  co_return resp;
}

}  // namespace spate::kafka
