// Fetch: whole batches from each requested partition, read on the partition's owner core.
// Always at least the first whole batch, even past max_bytes (KIP-74); further partitions
// only while max_bytes lasts. With less than min_bytes available the request long-polls:
// it waits until an append to one of its partitions wakes it, or max_wait_ms passes.
// The batches are not read here: each partition's answer is a file range (file_range.h) that
// the connection sends with sendfile.
#include <algorithm>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <mutex>
#include <utility>

#include "kafka/server/errors.h"
#include "kafka/server/file_range.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "observe/metrics.h"

namespace spate::kafka {
namespace {

// Fetches answered with what the core that woke them read for them (fetch_waiter::preread),
// without a hop back to that core.
observe::counter& prereads_answered() {
  static auto& c = observe::registry::global().counter(
      "spate_kafka_fetch_prereads_total",
      "Long-polling Fetches answered with the data that the core whose append woke them read "
      "for them, with no round trip back to that core");
  return c;
}

struct slot {
  const fetch_request::fetch_partition* in;
  fetch_response::partition_data* out;
  std::shared_ptr<partition_state> partition;
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

  // One waiter for the whole fetch. Each owner core registers it in the same hop that reads
  // its partitions, so no append can fall between the read and the registration, and a fetch
  // that parks costs one hop per core, not two. When woken, only the cores that fired are
  // read again: the others' partitions are unchanged since their registration (an append
  // there would have fired). Before, a parked fetch hopped to every core to read, to every
  // core to register, and to every core again when woken (bench/RESULTS.md, "End-to-end
  // latency").
  auto waiter = std::make_shared<fetch_waiter>(ctx.executor);
  uint64_t visit = ~uint64_t{0};  // which cores to read (fetch_waiter::bit): all, at first
  int64_t total = 0;
  int64_t budget = 0;
  bool any_error = false;
  // Reads a core's partitions of this fetch, on that core, and registers the waiter with them.
  auto read_group = [&](const std::vector<slot*>& group) {
    for (slot* s : group) {
      auto& log = *s->partition->log;
      s->out->error_code = 0;
      s->out->records = {};
      s->out->records.owned.emplace();  // empty, not null: clients reject a null set
      s->out->high_watermark = log.log_end().value;
      s->out->last_stable_offset = log.log_end().value;
      s->out->log_start_offset = log.log_start().value;
      // Registered before reading, on this core: an append after the read fires it.
      // Waiters of finished fetches expire; drop them here so that an idle partition
      // polled by consumers does not collect them without bound.
      auto& ws = s->partition->waiters;
      std::erase_if(ws, [](auto& w) { return w.expired(); });
      if (std::none_of(ws.begin(), ws.end(), [&](auto& w) { return w.lock() == waiter; })) {
        ws.push_back(waiter);
      }
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
  };
  // The pre-read (fetch_waiter::preread) refers to this frame: disarmed before any of it goes,
  // however the coroutine ends (a loop stopped at shutdown destroys it suspended).
  struct disarm_preread {
    fetch_waiter& w;
    ~disarm_preread() {
      std::lock_guard lock(w.mu);
      w.preread = nullptr;
    }
  } disarm{*waiter};
  for (;;) {
    // A pass that found some data (below min_bytes) re-reads everything, so that the budget
    // is shared out over the partitions in order as on the first pass.
    if (total > 0) visit = ~uint64_t{0};
    budget = std::max<int32_t>(req.max_bytes, 0);
    total = 0;
    any_error = false;
    for (auto& [owner, group] : by_owner) {
      if ((visit & fetch_waiter::bit(owner)) == 0) continue;
      co_await srv.cores().run_on(owner, [&, &g = group] { read_group(g); });
    }
    if (total >= req.min_bytes || any_error || slots.empty() ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    // Long poll: sleep until an owner core fires the waiter or the deadline passes. A firing
    // during the pass above left its bit set and park() says so; one after park() posts a
    // cancel, which cannot run before we suspend here (this coroutine holds the executor).
    if (!waiter->park()) {
      visit = waiter->take();
      continue;
    }
    if (total == 0) {
      // Nothing read, so every slot is empty and the budget whole: the core that wakes us
      // may read its partitions for us exactly as our next pass would (fetch_waiter).
      std::lock_guard lock(waiter->mu);
      waiter->preread = [&](size_t owner) {
        if (auto it = by_owner.find(owner); it != by_owner.end()) read_group(it->second);
      };
    }
    std::error_code ec;
    waiter->timer.expires_at(deadline);
    co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    visit = waiter->take();
    uint64_t preread = 0;
    {
      std::lock_guard lock(waiter->mu);
      waiter->preread = nullptr;
      preread = std::exchange(waiter->preread_cores, 0);
    }
    if (preread != 0) {
      // The waking core read its partitions: answer with them when they are enough, without
      // the round trip to that core. Other cores that fired meanwhile are read by the next
      // fetch (their appends are not lost: the answer is a snapshot, as any other).
      if (total >= req.min_bytes || any_error) {
        prereads_answered().inc();
        break;
      }
      // Not enough: read again as if nothing had been read for us, the waking core included.
      // Its firing consumed our registration there, and what woke us may be no append at
      // all (DeleteTopics wakes its fetches before it closes the log, which our own read
      // then finds closed and answers at once).
      continue;
    }
    // Nothing fired and the deadline passed: the answer read last is still current (an append
    // since would have fired). Nothing fired before the deadline: a cancel posted by a firing
    // that raced with the timer's expiry of an earlier wait, whose bit we already took; wait
    // again.
    if (visit == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  co_return resp;
}

}  // namespace spate::kafka
