// OffsetCommit: membership and generation are checked once for the request (generation -1
// with no member id is a standalone consumer's commit); the offsets are then written to
// __consumer_offsets and become visible to OffsetFetch once durable, so an acknowledged commit
// survives a crash.
#include "kafka/coordinator/offset_records.h"
#include "kafka/server/async_result.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {
namespace {

constexpr size_t max_metadata_bytes = 4096;  // offset.metadata.max.bytes

}  // namespace

asio::awaitable<offset_commit_response> handle(request_context& ctx, offset_commit_request& req) {
  auto& groups = ctx.srv.groups();
  offset_commit_response resp;
  coordinator::commit_request cr;
  cr.group_id = req.group_id;
  cr.member_id = req.member_id;
  cr.generation_id = req.generation_id;
  cr.group_instance_id = req.group_instance_id;
  int64_t now_ms = wall_now().value;
  for (auto& t : req.topics) {
    auto& tr = resp.topics.emplace_back();
    tr.name = t.name;
    for (auto& p : t.partitions) {
      tr.partitions.push_back({p.partition_index, 0});
      if (p.committed_metadata && p.committed_metadata->size() > max_metadata_bytes) {
        tr.partitions.back().error_code = to_wire(error_code::offset_metadata_too_large);
        continue;
      }
      cr.offsets.push_back(
          {{t.name, p.partition_index},
           {p.committed_offset, p.committed_leader_epoch, p.committed_metadata, now_ms}});
    }
  }
  if (cr.offsets.empty()) co_return resp;  // nothing to do: answer at once

  auto durable = std::make_shared<async_result<status>>(ctx.executor);
  auto checked = co_await ctx.srv.cores().run_on(groups.core(), [&]() -> std::error_code {
    if (auto e = groups.coordinator().check_commit(cr)) return e;
    std::vector<
        std::pair<coordinator::topic_partition_key, std::optional<coordinator::committed_offset>>>
        records(cr.offsets.begin(), cr.offsets.end());
    auto batch = coordinator::encode_commit(cr.group_id, records, wall_now());
    auto appended = groups.offsets_log().append_internal(batch, wall_now());
    if (!appended) {
      durable->set(appended.error());
      return {};
    }
    groups.offsets_log().when_durable(appended->next_offset,
                                      [durable](status s, auto) { durable->set(std::move(s)); });
    return {};
  });
  error_code outcome = to_kafka_error(checked);
  if (!checked) {
    auto st = co_await durable->wait(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (!st) {
      outcome = error_code::request_timed_out;
    } else if (!*st) {
      outcome = error_code::kafka_storage_error;
    } else {
      co_await ctx.srv.cores().run_on(
          groups.core(), [&] { groups.coordinator().apply_commit(cr.group_id, cr.offsets); });
    }
  }
  for (auto& tr : resp.topics) {
    for (auto& pr : tr.partitions) {
      if (pr.error_code == 0) pr.error_code = to_wire(outcome);
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
