// nexmark: generates Nexmark events and runs one query over them in-process, printing the
// first result rows (JSON) and how many there were.
//
//   nexmark --query q5 --events 200000 --seed 7 --print 5
//   nexmark --query q0 --events 10 --dump        # the generated events themselves, as JSON
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nexmark/generator.h"
#include "nexmark/queries.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: nexmark [--query q0|q1|q2|q3|q4|q5|q7|q8] [--events N] [--seed S]\n"
               "               [--print K] [--dump]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string query = "q5";
  int64_t events = 100'000;
  uint64_t seed = 1;
  int64_t print = 10;
  bool dump = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--query" && has_value) {
      query = argv[++i];
    } else if (a == "--events" && has_value) {
      events = std::strtoll(argv[++i], nullptr, 10);
    } else if (a == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--print" && has_value) {
      print = std::strtoll(argv[++i], nullptr, 10);
    } else if (a == "--dump") {
      dump = true;
    } else {
      return usage();
    }
  }
  nexmark::generator gen(nexmark::generator_config::flink_v2(seed));
  auto json = spate::stream::json_serde<nexmark::event>();
  if (dump) {
    for (int64_t i = 0; i < events; ++i) std::printf("%s\n", json.serialize(gen.at(i)).c_str());
    return 0;
  }

  const nexmark::query_entry* entry = nullptr;
  for (auto& q : nexmark::all_queries()) {
    if (q.name == query) entry = &q;
  }
  if (!entry) return usage();
  spate::stream::topology_builder b;
  nexmark::query_config config;
  config.event_serde = nexmark::binary_event_serde();
  config.max_auction_length_ms = gen.config().max_auction_length_ms();
  entry->add(b, config);
  auto t = b.build();
  if (!t) {
    std::fprintf(stderr, "%s\n", t.error().message().c_str());
    return 1;
  }
  auto eng = spate::stream::engine::create(std::move(*t));
  if (!eng || !eng->start(spate::timestamp_ms(0))) return 1;
  int64_t rows = 0;
  auto drain = [&] {
    for (auto& r : eng->take_output()) {
      if (rows++ < print) std::printf("%s\n", r.value.value_or("").c_str());
    }
  };
  for (int64_t i = 0; i < events; ++i) {
    auto e = gen.at(i);
    spate::stream::input_record r{.topic = config.source_topic,
                                  .offset = spate::offset(i),
                                  .value = config.event_serde.serialize(e),
                                  .timestamp = spate::timestamp_ms(e.date_time())};
    if (auto s = eng->process(r); !s) {
      std::fprintf(stderr, "%s\n", s.error().message().c_str());
      return 1;
    }
    drain();
  }
  if (!eng->end_of_input()) return 1;
  drain();
  std::printf("%s: %lld events, %lld result rows\n", query.c_str(), static_cast<long long>(events),
              static_cast<long long>(rows));
  return 0;
}
