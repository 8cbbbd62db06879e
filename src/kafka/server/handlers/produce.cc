// Produce: each partition's batch is appended on the partition's owner core, stored as sent
// with its offsets assigned. acks=1 is answered once the batch is in the page cache; acks=-1
// once the log's flush policy is met (after the group-committed fdatasync under `always`);
// acks=0 gets no response, and a failure closes the connection so the producer notices
// (kafka-compat.md §2.3, architecture.md "Durability is explicit").
//
// Gathered appends: the batches that reach a partition's owner core within one turn of its
// loop (from several pipelined requests, from several connections) are appended with one
// `partition_log::append_all`, one gathered write instead of one write each. The first batch to
// arrive queues a drain on the owner's loop (`asio::post`); batches arriving before the drain
// runs join it; the drain appends them in arrival order and answers each with its own result,
// exactly as `append` would have (storage/partition_log.h). A lone batch waits one post longer
// than an inline append.
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
#include "observe/metrics.h"

namespace spate::kafka {

// One request's appends, counted down as the owner cores' drains finish them; the last one wakes
// the request's coroutine. Shared between the connection's core and the owner cores.
struct request_appends {
  std::atomic<size_t> left{0};
  std::shared_ptr<async_result<bool>> done;
  std::mutex mu;
  std::exception_ptr thrown;  // the first exception of a drain or a posted enqueue

  void fail(std::exception_ptr e) {
    std::lock_guard lock(mu);
    if (!thrown) thrown = std::move(e);
  }
  void finish_one() {
    if (left.fetch_sub(1) == 1) done->set(true);
  }
};

// One partition's batch of one request. Lives in the handler's coroutine frame, which waits
// until every job of its request is finished: a drain may use a job until it calls
// finish_one() for it, never after.
struct produce_job {
  produce_request::partition_produce_data* data;
  produce_response::partition_response* out;
  std::shared_ptr<partition_state> partition;
  std::shared_ptr<request_appends> request;
  std::shared_ptr<async_result<status>> durable;  // acks=-1: completed by when_durable
  bool wait_durable = false;                      // set by the drain when the batch was appended
};

namespace {

struct produce_metrics {
  observe::histogram& batches_per_append;
  static produce_metrics& get() {
    auto& r = observe::registry::global();
    static produce_metrics m{
        r.histogram("spate_kafka_produce_batches_per_append",
                    "Produce batches appended to one partition together (one append_all, one "
                    "gathered write): the batches that reached its owner core in one loop turn",
                    {}, 16),
    };
    return m;
  }
};

// On the owner core: appends every batch pending for `p` with one append_all, in arrival order,
// and answers each job with its own result.
void drain(partition_state& p) {
  static const auto log = observe::logger("kafka");
  p.produce_drain_queued = false;
  std::vector<produce_job*> jobs;
  jobs.swap(p.produce_pending);
  std::exception_ptr thrown;
  try {
    std::vector<mutable_bytes> batches;
    batches.reserve(jobs.size());
    for (auto* j : jobs) batches.push_back(*j->data->records.view);
    auto results = p.log->append_all(batches, wall_now());
    produce_metrics::get().batches_per_append.record(jobs.size());
    bool appended = false;
    for (size_t i = 0; i < jobs.size(); ++i) {
      auto& j = *jobs[i];
      auto& r = results[i];
      j.out->log_start_offset = p.log->log_start().value;
      if (!r) {
        j.out->error_code = to_wire(to_kafka_error(r.error()));
        j.out->error_message = r.error().message();
        log->debug("produce to {}: {}", p.tp.dir_name(), r.error().message());
        continue;
      }
      j.out->base_offset = r->base_offset.value;
      j.out->log_append_time_ms = r->log_append_time.value;
      appended = true;
      if (j.durable) {
        j.wait_durable = true;
        p.log->when_durable(r->next_offset, [w = j.durable](status s, storage::durability) {
          w->set(std::move(s));
        });
      }
    }
    if (appended) p.notify_waiters();
  } catch (...) {
    // Rethrown in each request's coroutine: escaping a posted handler would end this core's
    // loop (std::terminate).
    thrown = std::current_exception();
  }
  for (auto* j : jobs) {
    auto request = j->request;  // `j` may be gone once its request is finished
    if (thrown) request->fail(thrown);
    request->finish_one();
  }
  // Keep the capacity for the next turn.
  jobs.clear();
  if (p.produce_pending.empty()) p.produce_pending.swap(jobs);
}

// On the owner core: adds the job to its partition's pending batches, queueing a drain on the
// owner's loop if none is queued. Batches that arrive before the drain runs join it.
// Strongly exception-safe: if it throws, the job is not pending and no drain was promised, so
// the caller may finish the job itself (a pending job left behind would point into a freed
// coroutine frame, and a drain flagged but never posted would stall the partition).
void enqueue(asio::io_context& owner, produce_job& j) {
  auto& p = *j.partition;
  p.produce_pending.push_back(&j);
  if (!p.produce_drain_queued) {
    try {
      asio::post(owner, [part = j.partition] { drain(*part); });
    } catch (...) {
      p.produce_pending.pop_back();
      throw;
    }
    p.produce_drain_queued = true;
  }
}

// Queues `jobs` in order; if one cannot be queued, the request fails (rethrown in its
// coroutine) and that job and the rest are finished unqueued, so that the request's countdown
// still ends. `jobs` may be freed by the last finish_one(): its size is read first.
void enqueue_all(asio::io_context& owner, std::vector<produce_job>& jobs,
                 const std::shared_ptr<request_appends>& request) {
  size_t n = jobs.size();
  size_t queued = 0;
  try {
    for (; queued < n; ++queued) enqueue(owner, jobs[queued]);
  } catch (...) {
    // As in drain(): not escaping this loop, rethrown in the connection's coroutine.
    request->fail(std::current_exception());
    for (size_t i = queued; i < n; ++i) request->finish_one();
  }
}

}  // namespace

asio::awaitable<produce_response> handle(request_context& ctx, produce_request& req) {
  auto& srv = ctx.srv;
  produce_response resp;
  bool valid_acks = req.acks == 0 || req.acks == 1 || req.acks == -1;
  // Magic 2 only: v0-v2 carry magic 0/1 message sets, which no client of ours sends to a
  // broker that advertises v3+ (kafka-compat.md §8.6).
  bool magic_v2 = ctx.header.version >= 3;
  auto request = std::make_shared<request_appends>();
  request->done = std::make_shared<async_result<bool>>(ctx.executor);
  std::map<size_t, std::vector<produce_job>> by_owner;
  size_t job_count = 0;
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
        std::shared_ptr<async_result<status>> durable;
        if (req.acks == -1) durable = std::make_shared<async_result<status>>(ctx.executor);
        by_owner[p->owner].push_back({&pd, &pr, p, request, std::move(durable)});
        ++job_count;
      }
    }
  }
  request->left = job_count;

  // Queue the appends in this connection's arrival order (see append_order). The turn ends once
  // this request's batches are *queued* on their owner cores, not once they are appended: each
  // core's loop runs what is posted to it in the order it was posted, and a partition's pending
  // batches are appended in the order they were queued, so the next request's batches to a
  // shared partition still land after these. Before, the turn was held across the round trip
  // to each owner core, which serialised a connection's pipelined Produce requests on that
  // round trip: under B4 (10 k msgs/s, linger.ms 0) Produce requests averaged 2 ms in the
  // broker and queued behind each other (bench/RESULTS.md, "End-to-end latency").
  if (ctx.order) co_await ctx.order->wait_turn(ctx.ticket);
  bool local = false;
  bool remote = false;
  for (auto& [owner, jobs] : by_owner) {
    auto& core = srv.cores().context(owner);
    if (core.get_executor().running_in_this_thread()) {
      enqueue_all(core, jobs, request);  // this core owns them: no hop
      local = true;
      continue;
    }
    remote = true;
    // The jobs live in this coroutine's frame, which waits below until every one is finished,
    // so nothing may escape from here on (work already queued points into the frame).
    try {
      asio::post(core, [&core, jobs = &jobs, request] { enqueue_all(core, *jobs, request); });
    } catch (...) {
      request->fail(std::current_exception());
      for (size_t i = 0; i < jobs.size(); ++i) request->finish_one();
    }
  }
  if (ctx.order) ctx.order->end_turn(ctx.ticket);
  if (local && !remote) {
    // Every partition queued above has its drain queued on this loop already (by this request
    // or an earlier one), so the one post below resumes us after them: a lone local batch
    // waits one post, not the timer round trip of the wait below.
    co_await asio::post(ctx.executor, asio::use_awaitable);
  }
  if (job_count > 0 && request->left.load() != 0) {
    co_await request->done->wait(std::chrono::steady_clock::time_point::max());
  }
  {
    std::lock_guard lock(request->mu);
    if (request->thrown) std::rethrow_exception(request->thrown);
  }

  if (req.acks == -1) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::max<int32_t>(req.timeout_ms, 0));
    for (auto& [owner, jobs] : by_owner) {
      for (auto& j : jobs) {
        if (!j.wait_durable) continue;
        auto r = co_await j.durable->wait(deadline);
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
