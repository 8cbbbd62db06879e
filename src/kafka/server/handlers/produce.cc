// Produce: each partition's batch is appended on the partition's owner core, stored as sent
// with its offsets assigned. acks=1 is answered once the batch is in the page cache; acks=-1
// once the log's flush policy is met (after the group-committed fdatasync under `always`);
// acks=0 gets no response, and a failure closes the connection so the producer notices
// (kafka-compat.md §2.3, architecture.md "Durability is explicit").
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>

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

  // Append in this connection's arrival order (see append_order). The turn ends once this
  // request's appends are *queued* on their owner cores, not once they are done: each core's
  // loop runs what is posted to it in the order it was posted, so the next request's appends to
  // a shared partition still land after these. Before, the turn was held across the round trip
  // to each owner core, which serialised a connection's pipelined Produce requests on that
  // round trip: under B4 (10 k msgs/s, linger.ms 0) Produce requests averaged 2 ms in the
  // broker and queued behind each other (bench/RESULTS.md, "End-to-end latency").
  if (ctx.order) co_await ctx.order->wait_turn(ctx.ticket);
  auto now = wall_now();
  auto append_jobs = [&](std::vector<job>& jobs) {
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
  };
  // The other cores' appends, counted down as they finish; the last one wakes this coroutine.
  struct remote_appends {
    std::atomic<size_t> left{0};
    std::shared_ptr<async_result<bool>> done;
    std::mutex mu;
    std::exception_ptr thrown;  // the first exception of an append on another core
  };
  auto remote = std::make_shared<remote_appends>();
  remote->done = std::make_shared<async_result<bool>>(ctx.executor);
  std::vector<std::pair<asio::io_context*, std::vector<job>*>> posts;
  for (auto& [owner, jobs] : by_owner) {
    auto& core = srv.cores().context(owner);
    if (core.get_executor().running_in_this_thread()) {
      append_jobs(jobs);  // this core owns them: now, in turn, with no hop
    } else {
      posts.emplace_back(&core, &jobs);
    }
  }
  remote->left = posts.size();
  for (auto [core, jobs] : posts) {
    // The jobs and append_jobs live in this coroutine's frame, which waits below until every
    // posted append has run.
    asio::post(*core, [&append_jobs, jobs, remote] {
      // Caught here and rethrown in the connection's coroutine below: escaping a posted
      // handler would end that core's loop (std::terminate), where before the change to
      // posting it only ended the connection.
      try {
        append_jobs(*jobs);
      } catch (...) {
        std::lock_guard lock(remote->mu);
        if (!remote->thrown) remote->thrown = std::current_exception();
      }
      if (remote->left.fetch_sub(1) == 1) remote->done->set(true);
    });
  }
  if (ctx.order) ctx.order->end_turn(ctx.ticket);
  if (!posts.empty()) {
    co_await remote->done->wait(std::chrono::steady_clock::time_point::max());
    std::lock_guard lock(remote->mu);
    if (remote->thrown) std::rethrow_exception(remote->thrown);
  }

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
