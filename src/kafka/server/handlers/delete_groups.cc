// DeleteGroups: an empty group and its committed offsets go; tombstones in __consumer_offsets
// make the deletion survive a restart.
#include "kafka/coordinator/offset_records.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<delete_groups_response> handle(request_context& ctx, delete_groups_request& req) {
  auto& groups = ctx.srv.groups();
  delete_groups_response resp;
  for (auto& id : req.groups_names) {
    auto e = co_await ctx.srv.cores().run_on(groups.core(), [&]() -> std::error_code {
      auto& gc = groups.coordinator();
      auto offsets = gc.offsets(id, {});
      if (auto err = gc.delete_group(id)) return err;
      if (offsets.empty()) return {};
      std::vector<
          std::pair<coordinator::topic_partition_key, std::optional<coordinator::committed_offset>>>
          tombstones;
      for (auto& [tp, o] : offsets) tombstones.emplace_back(tp, std::nullopt);
      auto batch = coordinator::encode_commit(id, tombstones, wall_now());
      auto appended = groups.offsets_log().append_internal(batch, wall_now());
      if (!appended) return appended.error().code;
      return {};
    });
    resp.results.push_back({id, to_wire(to_kafka_error(e))});
  }
  co_return resp;
}

}  // namespace spate::kafka
