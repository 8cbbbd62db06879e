// Each query through the test driver against a brute-force reference computed directly from
// the generated events: random seeds, events out of order within groups (well inside the 4 s
// watermark bound), several 10 s windows.
#include "nexmark/queries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "nexmark/generator.h"

namespace {

using namespace nexmark;
using namespace spate::stream;

constexpr int64_t ten_s = 10'000;

struct run {
  generator_config gen;
  std::vector<event> events;
};

// 40,000 events 1 ms apart (40 s of event time, 2,400 auctions lasting ~3.3 s on average),
// shuffled in groups of 256 (256 ms of disorder).
run make_run() {
  static std::random_device rd;
  generator_config c;
  c.seed = (uint64_t(rd()) << 32) | rd();
  c.inter_event_delay_us = 1000;
  c.out_of_order_group_size = 256;
  c.channel_and_url = true;
  std::printf("seed %llu\n", static_cast<unsigned long long>(c.seed));
  generator g(c);
  return {c, g.generate(0, 40'000)};
}

query_config config_for(const run& r, bool json) {
  query_config q;
  q.source_topic = "events";
  q.sink_topic = "out";
  q.event_serde = json ? json_serde<event>() : binary_event_serde();
  q.max_auction_length_ms = r.gen.max_auction_length_ms();
  return q;
}

// Runs one query over the events and returns its rows in output order.
template <class Row>
std::vector<Row> run_query(void (*query)(topology_builder&, const query_config&), const run& r,
                           bool json = false) {
  topology_builder b;
  auto qc = config_for(r, json);
  query(b, qc);
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  if (!t) return {};
  auto d = test_driver::create(std::move(*t));
  EXPECT_TRUE(d) << d.error().message();
  if (!d) return {};
  for (auto& e : r.events) {
    auto s = d->pipe(qc.source_topic, e, qc.event_serde, spate::timestamp_ms(e.date_time()));
    EXPECT_TRUE(s) << s.error().message();
    if (!s) return {};
  }
  EXPECT_TRUE(d->end_of_input());
  EXPECT_EQ(d->get_engine().stats().late_records, 0u);
  auto out = d->read(qc.sink_topic, json_serde<Row>());
  EXPECT_TRUE(out) << out.error().message();
  std::vector<Row> rows;
  if (out) {
    for (auto& rec : *out) rows.push_back(std::move(rec.value));
  }
  return rows;
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<bid> bids_of(const run& r) {
  std::vector<bid> out;
  for (auto& e : r.events) {
    if (const auto* b = e.as_bid()) out.push_back(*b);
  }
  return out;
}

TEST(nexmark_queries, q0_passes_every_bid_through) {
  auto r = make_run();
  std::vector<q0_row> want;
  for (auto& b : bids_of(r)) want.push_back({b.auction, b.bidder, b.price, b.date_time, b.extra});
  EXPECT_EQ(run_query<q0_row>(q0, r, /*json=*/true), want);
  EXPECT_EQ(run_query<q0_row>(q0, r), want);
}

TEST(nexmark_queries, q1_converts_prices_exactly) {
  auto r = make_run();
  std::vector<q1_row> want;
  for (auto& b : bids_of(r)) {
    // 0.908 × price as a decimal with three places, in thousandths.
    want.push_back({b.auction, b.bidder, b.price * 908, b.date_time, b.extra});
  }
  EXPECT_EQ(run_query<q1_row>(q1, r), want);
}

TEST(nexmark_queries, q2_selects_every_123rd_auction) {
  auto r = make_run();
  std::vector<q2_row> want;
  for (auto& b : bids_of(r)) {
    if (b.auction % 123 == 0) want.push_back({b.auction, b.price});
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(run_query<q2_row>(q2, r), want);
}

TEST(nexmark_queries, q3_joins_category_10_auctions_with_sellers_in_three_states) {
  auto r = make_run();
  std::vector<q3_row> want;
  for (auto& ea : r.events) {
    const auto* a = ea.as_auction();
    if (!a || a->category != 10) continue;
    for (auto& ep : r.events) {
      const auto* p = ep.as_person();
      if (p && p->id == a->seller && (p->state == "OR" || p->state == "ID" || p->state == "CA")) {
        want.push_back({p->name, p->city, p->state, a->id});
      }
    }
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(sorted(run_query<q3_row>(q3, r)), sorted(want));
}

TEST(nexmark_queries, q4_final_average_per_category) {
  auto r = make_run();
  std::map<int64_t, const auction*> auctions;
  for (auto& e : r.events) {
    if (const auto* a = e.as_auction()) auctions[a->id] = a;
  }
  std::map<int64_t, int64_t> final_price;  // auction -> max price of its bids in time
  for (auto& e : r.events) {
    const auto* b = e.as_bid();
    if (!b) continue;
    auto it = auctions.find(b->auction);
    if (it == auctions.end()) continue;
    const auction* a = it->second;
    if (b->date_time < a->date_time || b->date_time > a->expires) continue;
    auto [f, fresh] = final_price.emplace(a->id, b->price);
    if (!fresh) f->second = std::max(f->second, b->price);
  }
  std::map<int64_t, std::pair<int64_t, int64_t>> sums;  // category -> (sum, count)
  for (auto& [id, price] : final_price) {
    auto& s = sums[auctions[id]->category];
    s.first += price;
    ++s.second;
  }
  std::map<int64_t, int64_t> want;
  for (auto& [cat, s] : sums) want[cat] = s.first / s.second;
  EXPECT_EQ(want.size(), 5u);

  std::map<int64_t, int64_t> got;  // the latest update per category is the result
  for (auto& row : run_query<q4_row>(q4, r)) got[row.category] = row.avg;
  EXPECT_EQ(got, want);
}

TEST(nexmark_queries, q5_hottest_auctions_per_hopping_window) {
  auto r = make_run();
  std::map<std::pair<int64_t, int64_t>, int64_t> counts;  // (window start, auction) -> bids
  for (auto& b : bids_of(r)) {
    int64_t last = b.date_time - b.date_time % 2000;
    for (int64_t s = last; s > b.date_time - ten_s; s -= 2000) ++counts[{s, b.auction}];
  }
  std::map<int64_t, int64_t> max_count;
  for (auto& [k, n] : counts) max_count[k.first] = std::max(max_count[k.first], n);
  std::vector<q5_row> want;
  for (auto& [k, n] : counts) {
    if (n == max_count[k.first]) want.push_back({k.second, n, k.first, k.first + ten_s});
  }
  EXPECT_EQ(sorted(run_query<q5_row>(q5, r)), sorted(want));
}

TEST(nexmark_queries, q7_highest_bids_per_tumbling_window) {
  auto r = make_run();
  auto bids = bids_of(r);
  std::map<int64_t, int64_t> max_price;  // window end -> max
  for (auto& b : bids) {
    int64_t end = b.date_time - b.date_time % ten_s + ten_s;
    max_price[end] = std::max(max_price[end], b.price);
  }
  std::vector<q7_row> want;
  for (auto& [end, price] : max_price) {
    for (auto& b : bids) {
      // BETWEEN wend - 10 s AND wend: both ends inclusive.
      if (b.price == price && b.date_time >= end - ten_s && b.date_time <= end) {
        want.push_back({b.auction, b.price, b.bidder, b.date_time, b.extra});
      }
    }
  }
  EXPECT_GE(want.size(), max_price.size());
  EXPECT_EQ(sorted(run_query<q7_row>(q7, r)), sorted(want));
}

// Flink's BETWEEN is inclusive at both ends: a bid at exactly the window's end that matches
// the window's maximum is reported for that window too (and for its own window if it matches
// there).
TEST(nexmark_queries, q7_includes_a_bid_at_the_window_end) {
  topology_builder b;
  query_config c;
  c.source_topic = "events";
  c.sink_topic = "out";
  q7(b, c);
  auto t = b.build();
  ASSERT_TRUE(t) << t.error().message();
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  auto pipe = [&](int64_t time, int64_t price) {
    event e{bid{.auction = 1000, .bidder = 1001, .price = price, .date_time = time}};
    ASSERT_TRUE(d->pipe(c.source_topic, e, c.event_serde, spate::timestamp_ms(time)));
  };
  pipe(1'000, 500);
  pipe(3'000, 200);
  pipe(10'000, 500);  // the first window's end; in the second window
  pipe(12'000, 900);
  ASSERT_TRUE(d->end_of_input());
  auto out = d->read(c.sink_topic, json_serde<q7_row>());
  ASSERT_TRUE(out);
  std::vector<std::pair<int64_t, int64_t>> got;
  for (auto& r : *out) got.emplace_back(r.value.date_time, r.value.price);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got,
            (std::vector<std::pair<int64_t, int64_t>>{{1'000, 500}, {10'000, 500}, {12'000, 900}}));
}

TEST(nexmark_queries, q8_new_persons_selling_in_their_window) {
  auto r = make_run();
  std::set<std::pair<int64_t, int64_t>> sold;  // (seller, window start)
  for (auto& e : r.events) {
    if (const auto* a = e.as_auction()) sold.insert({a->seller, a->date_time / ten_s * ten_s});
  }
  std::vector<q8_row> want;
  for (auto& e : r.events) {
    const auto* p = e.as_person();
    if (!p) continue;
    int64_t start = p->date_time / ten_s * ten_s;
    if (sold.count({p->id, start})) want.push_back({p->id, p->name, start});
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(sorted(run_query<q8_row>(q8, r)), sorted(want));
}

TEST(nexmark_queries, every_query_builds_without_a_sink) {
  for (auto& q : all_queries()) {
    topology_builder b;
    query_config c;
    c.sink_topic.clear();
    q.add(b, c);
    auto t = b.build();
    ASSERT_TRUE(t) << q.name << ": " << t.error().message();
    EXPECT_TRUE(t->sink_topics().empty()) << q.name;
  }
}

// Every key_by of every query has a value serde, as the Kafka runtime requires (it refuses the
// topology otherwise), and q4's intermediate rows survive their binary serdes exactly, with
// bad bytes refused.
TEST(nexmark_queries, every_query_can_be_split_and_q4_rows_round_trip) {
  for (auto& q : all_queries()) {
    topology_builder b;
    query_config c;
    q.add(b, c);
    auto t = b.build();
    ASSERT_TRUE(t) << q.name;
    engine_config ec;
    ec.split = split_config{"app", 0, 2};
    auto e = engine::create(std::move(*t), std::move(ec));
    EXPECT_TRUE(e) << q.name << ": " << e.error().message();
  }
  auto ab = auction_bid_serde();
  for (auto m : {auction_bid{1, 10, 1'700'000'000'123, 12345, 1'700'000'000'000},
                 auction_bid{-1, INT64_MAX, INT64_MIN, 0, -7}}) {
    auto back = ab.deserialize(ab.serialize(m));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, m);
  }
  auto fp = final_price_change_serde();
  for (auto f : {final_price_change{10, std::nullopt, 500}, final_price_change{11, 0, 7},
                 final_price_change{-3, INT64_MIN, INT64_MAX}}) {
    auto back = fp.deserialize(fp.serialize(f));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, f);
  }
  auto bytes = ab.serialize(auction_bid{1, 2, 3, 4, 5});
  // custom_serde turns the decoder's exception into an error.
  EXPECT_FALSE(ab.deserialize(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(ab.deserialize(bytes + "x"));
  auto change = fp.serialize(final_price_change{1, 2, 3});
  change[8] = 2;  // the presence byte of `previous`
  EXPECT_FALSE(fp.deserialize(change));
}

}  // namespace
