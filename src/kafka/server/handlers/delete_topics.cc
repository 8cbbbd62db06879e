// DeleteTopics: the topic leaves the catalog first (new requests no longer find it), then each
// partition is closed and its folder deleted on its owner core, after waking any fetch
// waiting on it.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<delete_topics_response> handle(request_context& ctx, delete_topics_request& req) {
  auto& srv = ctx.srv;
  delete_topics_response resp;
  for (auto& name : req.topic_names) {
    auto& r = resp.responses.emplace_back();
    r.name = name;
    auto removed = srv.topics().remove(name);
    if (!removed) {
      r.error_code = to_wire(error_code::unknown_topic_or_partition);
      continue;
    }
    for (auto& p : *removed) {
      auto st = co_await srv.cores().run_on(p->owner, [&] {
        p->notify_waiters();
        return srv.topics().logs().remove(p->tp);
      });
      if (!st) r.error_code = to_wire(to_kafka_error(st.error()));
    }
  }
  co_return resp;
}

}  // namespace spate::kafka
