// Produce: each partition's batch is appended on the partition's owner core, stored as sent
// with its offsets assigned. acks=1 is answered once the batch is in the page cache; acks=-1
// once the log's flush policy is met (after the group-committed fdatasync under `always`);
// acks=0 gets no response, and a failure closes the connection so the producer notices
// (kafka-compat.md §2.3, architecture.md "Durability is explicit").
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <map>

#include "base/clock.h"
#include "kafka/server/async_result.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "observe/log.h"

namespace spate::kafka {
namespace {

struct job {
  produce_request::partition_produce_data* data;
  produce_response::partition_response* out;
  std::shared_ptr<partition_state> partition;
  std::shared_ptr<async_result<status>> wait;
};

}  // namespace

asio::awaitable<produce_response> handle(request_context& ctx, produce_request& req) {
  static const auto log = observe::logger("kafka");
  auto& srv = ctx.srv;
  produce_response resp;
  bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
  // Magic 2 only: v0-v2 carry magic 0/1 message sets, which no client of ours sends to a
  // broker that advertises v3+ (kafka-compat.md §8.6).
  bool magic_v2 = ctx.header.version >= 3;
  std::map<size_t, std::vector<job>> by_owner;
  for (auto& td : req.topic_data) {
    auto& tr = resp.responses.emplace_back();
    tr.name = td.name;
    auto topic = srv.topics().find(td.name);
    tr.partition_responses.reserve(td.partition_data.size());
    for (auto& pd : td.partition_data) {
      auto& pr = tr.partition_responses.emplace_back();
      pr.index = pd.index;
      if (!valid_acks) {
        pr.error_code = to_wire(error_code::invalid_required_acks);
      } else if (!magic_v2) {
        pr.error_code = to_wire(error_code::unsupported_for_message_format);
      } else if (td.name.rfind("__", 0) == 0) {
        // Internal topics (__consumer_offsets) are written by the broker only, as in Kafka.
        pr.error_code = to_wire(error_code::invalid_topic_exception);
        pr.error_message = "cannot append to internal topic " + td.name;
      } else if (!topic || pd.index < 0 ||
                 pd.index >= static_cast<int32_t>(topic->partitions.size())) {
        pr.error_code = to_wire(error_code::unknown_topic_or_partition);
      } else if (!pd.records.view) {
        pr.error_code = to_wire(error_code::invalid_record);
      } else {
        auto& p = topic->partitions[static_cast<size_t>(pd.index)];
        by_owner[p->owner].push_back({&pd, &pr, p, nullptr});
      }
    }
  }

  // Append in this connection's arrival order (see append_order), then let the next request
  // append while this one waits for durability.
  if (ctx.order) co_await ctx.order->wait_turn(ctx.ticket);
  auto now = wall_now();
  for (auto& [owner, jobs] : by_owner) {
    co_await srv.cores().run_on(owner, [&, owner = owner] {
      (void)owner;
      for (auto& j : jobs) {
        auto appended = j.partition->log->append(*j.data->records.view, now);
        j.out->log_start_offset = j.partition->log->log_start().value;
        if (!appended) {
          j.out->error_code = to_wire(to_kafka_error(appended.error()));
          j.out->error_message = appended.error().message();
          log->debug("produce to {}: {}", j.partition->tp.dir_name(), appended.error().message());
          continue;
        }
        j.out->base_offset = appended->base_offset.value;
        j.out->log_append_time_ms = appended->log_append_time.value;
        j.partition->notify_waiters();
        if (req.acks == -1) {
          j.wait = std::make_shared<async_result<status>>(ctx.executor);
          j.partition->log->when_durable(
              appended->next_offset,
              [w = j.wait](status s, storage::durability) { w->set(std::move(s)); });
        }
      }
    });
  }

  if (ctx.order) ctx.order->end_turn(ctx.ticket);

  if (req.acks == -1) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::max<int32_t>(req.timeout_ms, 0));
    for (auto& [owner, jobs] : by_owner) {
      for (auto& j : jobs) {
        if (!j.wait) continue;
        auto r = co_await j.wait->wait(deadline);
        if (!r) {
          j.out->error_code = to_wire(error_code::request_timed_out);
        } else if (!*r) {
          j.out->error_code = to_wire(to_kafka_error(r->error()));
          j.out->error_message = r->error().message();
        }
      }
    }
  }

  if (req.acks == 0) {
    ctx.suppress_response = true;
    for (auto& tr : resp.responses) {
      for (auto& pr : tr.partition_responses) {
        if (pr.error_code != 0) ctx.close_connection = true;
      }
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
