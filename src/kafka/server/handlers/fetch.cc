// Fetch: whole batches from each requested partition, read on the partition's owner core.
// Always at least the first whole batch, even past max_bytes (KIP-74); further partitions
// only while max_bytes lasts. With less than min_bytes available the request long-polls:
// it waits until an append to one of its partitions wakes it, or max_wait_ms passes.
// The batches are not read here: each partition's answer is a file range (file_range.h) that
// the connection sends with sendfile.
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/file_range.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {
namespace {

struct slot {
  const fetch_request::fetch_partition* in;
  fetch_response::partition_data* out;
  std::shared_ptr<partition_state> partition;
  int64_t seen_end = -1;  // log end when last read, to detect new data
};

}  // namespace

asio::awaitable<fetch_response> handle(request_context& ctx, fetch_request& req) {
  auto& srv = ctx.srv;
  fetch_response resp;
  std::vector<slot> slots;
  for (auto& ft : req.topics) {
    auto& tr = resp.responses.emplace_back();
    tr.topic = ft.topic;
    auto topic = srv.topics().find(ft.topic);
    tr.partitions.reserve(ft.partitions.size());
    for (auto& fp : ft.partitions) {
      auto& pd = tr.partitions.emplace_back();
      pd.partition_index = fp.partition;
      pd.aborted_transactions.emplace();  // none: transactions are not written yet
      pd.records.owned.emplace();         // empty, not null: clients reject a null set
      if (!topic || fp.partition < 0 ||
          fp.partition >= static_cast<int32_t>(topic->partitions.size())) {
        pd.error_code = to_wire(error_code::unknown_topic_or_partition);
        continue;
      }
      slots.push_back({&fp, &pd, topic->partitions[static_cast<size_t>(fp.partition)]});
    }
  }

  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(req.max_wait_ms, 0));
  std::map<size_t, std::vector<slot*>> by_owner;
  for (auto& s : slots) by_owner[s.partition->owner].push_back(&s);

  for (;;) {
    int64_t budget = std::max<int32_t>(req.max_bytes, 0);
    int64_t total = 0;
    bool any_error = false;
    for (auto& [owner, group] : by_owner) {
      co_await srv.cores().run_on(owner, [&] {
        for (slot* s : group) {
          auto& log = *s->partition->log;
          s->out->error_code = 0;
          s->out->records = {};
          s->out->records.owned.emplace();  // empty, not null: clients reject a null set
          s->out->high_watermark = log.log_end().value;
          s->out->last_stable_offset = log.log_end().value;
          s->out->log_start_offset = log.log_start().value;
          s->seen_end = log.log_end().value;
          // The first batch of the response may exceed every limit; after that, stop when
          // the request's budget is spent.
          if (total > 0 && budget <= 0) continue;
          uint64_t limit = static_cast<uint64_t>(std::max<int32_t>(s->in->partition_max_bytes, 0));
          if (total > 0) limit = std::min<uint64_t>(limit, static_cast<uint64_t>(budget));
          auto r = log.read(offset(s->in->fetch_offset), limit);
          if (!r) {
            s->out->error_code = to_wire(to_kafka_error(r.error()));
            any_error = true;
            continue;
          }
          if (r->slice.size == 0) continue;
          // Not read here: the connection sends the range from the page cache (sendfile).
          // Reading it into a buffer, then copying that into the response frame, cost two
          // copies and up to the whole response (fetch.max.bytes, 50 MB for librdkafka) of
          // memory per fetch in flight (bench/RESULTS.md, B7).
          auto size = static_cast<int64_t>(r->slice.size);
          total += size;
          budget -= size;
          s->out->records.owned.reset();
          s->out->records.external = std::make_shared<file_range>(std::move(r->slice));
        }
      });
    }
    if (total >= req.min_bytes || any_error || slots.empty() ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    // Long poll: register with every partition, then sleep until woken or the deadline.
    auto waiter = std::make_shared<fetch_waiter>(ctx.executor);
    bool already = false;
    for (auto& [owner, group] : by_owner) {
      co_await srv.cores().run_on(owner, [&] {
        for (slot* s : group) {
          if (s->partition->log->log_end().value > s->seen_end) already = true;
          // Waiters of finished fetches expire; drop them here so that an idle partition
          // polled by consumers does not collect them without bound.
          std::erase_if(s->partition->waiters, [](auto& w) { return w.expired(); });
          s->partition->waiters.push_back(waiter);
        }
      });
    }
    if (!already && !waiter->fired.load()) {
      std::error_code ec;
      waiter->timer.expires_at(deadline);
      co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
