// Each query is written to read like its Flink SQL (nexmark.md §3.2); comments give the SQL's
// clause where the mapping is not obvious.
#include "nexmark/queries.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace nexmark {

using namespace spate::stream;
using namespace std::chrono_literals;
using spate::timestamp_ms;

namespace {

// Sink or drop (see query_config::sink_topic).
template <class T>
void write(const stream<T>& s, const query_config& c) {
  if (!c.sink_topic.empty()) s.to(c.sink_topic, json_serde<T>());
}

// q5's per-window maximum and the auctions that reach it.
struct hot_auctions {
  int64_t num = 0;
  std::vector<int64_t> auctions;
};
void to_json(nlohmann::json& j, const hot_auctions& h) {
  j = nlohmann::json{{"num", h.num}, {"auctions", h.auctions}};
}
void from_json(const nlohmann::json& j, hot_auctions& h) {
  j.at("num").get_to(h.num);
  j.at("auctions").get_to(h.auctions);
}

// Binary serdes for q4's intermediate rows, which cross a repartition topic in the Kafka
// runtime (application.h refuses a key_by without a value serde): int64 fields as 8
// little-endian bytes each, in declaration order; final_price_change has a presence byte for
// `previous`.
void put_i64(std::string& out, int64_t v) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}
int64_t get_i64(std::string_view& in) {
  if (in.size() < 8) throw std::invalid_argument("truncated row");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(8);
  return static_cast<int64_t>(v);
}
void expect_end(std::string_view in) {
  if (!in.empty()) throw std::invalid_argument("trailing bytes");
}
}  // namespace

serde<auction_bid> auction_bid_serde() {
  return custom_serde<auction_bid>(
      "nexmark-auction-bid",
      [](const auction_bid& m) {
        std::string out;
        for (int64_t v : {m.auction, m.category, m.expires, m.price, m.date_time}) put_i64(out, v);
        return out;
      },
      [](std::string_view in) -> spate::result<auction_bid> {
        auction_bid m;
        for (int64_t* f : {&m.auction, &m.category, &m.expires, &m.price, &m.date_time}) {
          *f = get_i64(in);
        }
        expect_end(in);
        return m;
      });
}
serde<final_price_change> final_price_change_serde() {
  return custom_serde<final_price_change>(
      "nexmark-final-price-change",
      [](const final_price_change& f) {
        std::string out;
        put_i64(out, f.category);
        out += static_cast<char>(f.previous ? 1 : 0);
        put_i64(out, f.previous.value_or(0));
        put_i64(out, f.final);
        return out;
      },
      [](std::string_view in) -> spate::result<final_price_change> {
        final_price_change f;
        f.category = get_i64(in);
        if (in.empty() || static_cast<uint8_t>(in[0]) > 1) {
          throw std::invalid_argument("bad presence byte");
        }
        bool has_previous = in[0] == 1;
        in.remove_prefix(1);
        int64_t previous = get_i64(in);
        if (has_previous) f.previous = previous;
        f.final = get_i64(in);
        expect_end(in);
        return f;
      });
}

stream<event> events(topology_builder& b, const query_config& c) {
  return b.source(
      c.source_topic, c.event_serde,
      {.name = "events",
       .timestamp = [](const event& e, timestamp_ms) { return timestamp_ms(e.date_time()); },
       .watermarks = {.max_out_of_orderness = c.max_out_of_orderness}});
}

namespace {
// One kind of the event union, as Flink's person/auction/bid views: a copy of it when other
// views read the same event too (q3, q4, q8), else the event's own fields moved out.
template <class Kind>
struct view_of {
  void operator()(const event& e, context<Kind>& ctx) const {
    if (const auto* x = std::get_if<Kind>(&e.value)) ctx.emit(*x);
  }
  void operator()(event&& e, context<Kind>& ctx) const {
    if (auto* x = std::get_if<Kind>(&e.value)) ctx.emit(std::move(*x));
  }
};
}  // namespace

stream<person> persons(const stream<event>& events) {
  return events.process<person>(view_of<person>{}, "person");
}
stream<auction> auctions(const stream<event>& events) {
  return events.process<auction>(view_of<auction>{}, "auction");
}
stream<bid> bids(const stream<event>& events) {
  return events.process<bid>(view_of<bid>{}, "bid");
}

void q0(topology_builder& b, const query_config& c) {
  // Takes the bid (no other step reads it): its extra moves into the row.
  auto rows = bids(events(b, c)).map([](bid&& x) {
    return q0_row{x.auction, x.bidder, x.price, x.date_time, std::move(x.extra)};
  });
  write(rows, c);
}

void q1(topology_builder& b, const query_config& c) {
  auto rows = bids(events(b, c)).map([](bid&& x) {
    return q1_row{x.auction, x.bidder, x.price * 908, x.date_time, std::move(x.extra)};
  });
  write(rows, c);
}

void q2(topology_builder& b, const query_config& c) {
  auto rows = bids(events(b, c))
                  .filter([](const bid& x) { return x.auction % 123 == 0; })
                  .map([](const bid& x) {
                    return q2_row{x.auction, x.price};
                  });
  write(rows, c);
}

void q3(topology_builder& b, const query_config& c) {
  auto ev = events(b, c);
  // FROM auction A JOIN person P ON A.seller = P.id: a regular join, both sides kept.
  auto sellers = persons(ev)
                     .filter([](const person& p) {
                       return p.state == "OR" || p.state == "ID" || p.state == "CA";
                     })
                     .key_by(&person::id);
  auto category_10 = auctions(ev)
                         .filter([](const auction& a) { return a.category == 10; })
                         .key_by(&auction::seller);
  auto rows = category_10.join(
      sellers, join_window::unbounded(),
      [](const auction& a, const person& p) {
        return q3_row{p.name, p.city, p.state, a.id};
      },
      "auction_seller", binary_auction_serde(), binary_person_serde());
  write(rows, c);
}

void q4(topology_builder& b, const query_config& c) {
  auto ev = events(b, c);
  // W = SELECT A.id, A.category, MAX(B.price) AS final FROM auction A JOIN bid B
  //     ON A.id = B.auction WHERE B.dateTime BETWEEN A.dateTime AND A.expires
  //     GROUP BY A.id, A.category
  // The join keeps a bid only while an auction it could belong to may be open: from the
  // auction's dateTime to the longest auction's length after it; expires is checked per pair.
  auto matched =
      auctions(ev)
          .key_by(&auction::id, default_serde<int64_t>(), {}, binary_auction_serde())
          .join(
              bids(ev).key_by(&bid::auction, default_serde<int64_t>(), {}, binary_bid_serde()),
              join_window{.before = 0ms, .after = duration(c.max_auction_length_ms)},
              [](const auction& a, const bid& x) {
                return auction_bid{a.id, a.category, a.expires, x.price, x.date_time};
              },
              "auction_bids", binary_auction_serde(), binary_bid_serde())
          .filter([](const auction_bid& m) { return m.date_time <= m.expires; });
  auto final_prices =
      matched.key_by(&auction_bid::auction, default_serde<int64_t>(), {}, auction_bid_serde())
          .process<final_price_change>(
              [](const auction_bid& m, keyed_context<int64_t, final_price_change>& ctx) {
                auto final = ctx.state<int64_t>("final");
                auto previous = final.value();
                if (previous && *previous >= m.price) return;
                final.update(m.price);
                ctx.emit({m.category, previous, m.price});
              },
              "max_price");
  // OUT = SELECT category, AVG(final) FROM W GROUP BY category: an auction's new maximum
  // replaces its old one in the category's sum (Flink's retraction).
  auto rows = final_prices
                  .key_by(&final_price_change::category, default_serde<int64_t>(), {},
                          final_price_change_serde())
                  .process<q4_row>(
                      [](const final_price_change& f, keyed_context<int64_t, q4_row>& ctx) {
                        auto sum = ctx.state<int64_t>("sum");
                        auto count = ctx.state<int64_t>("count");
                        int64_t s = sum.value().value_or(0) + f.final - f.previous.value_or(0);
                        int64_t n = count.value().value_or(0) + (f.previous ? 0 : 1);
                        sum.update(s);
                        count.update(n);
                        ctx.emit({f.category, s / n});
                      },
                      "avg_by_category");
  write(rows, c);
}

void q5(topology_builder& b, const query_config& c) {
  // C = SELECT auction, COUNT(*) AS num, wstart, wend FROM HOP(bid, 2 s, 10 s)
  //     GROUP BY auction, wstart, wend
  // The binary bid serde: in the Kafka runtime the bids cross a repartition topic.
  auto counts = bids(events(b, c))
                    .key_by(&bid::auction, default_serde<int64_t>(), {}, binary_bid_serde())
                    .window(hopping(10s, 2s))
                    .count();
  // M = SELECT MAX(num) ... GROUP BY wstart, wend, joined back on num >= M.maxn: one window's
  // counts arrive together at its end - 1, and consecutive windows end 2 s apart, so a 2 s
  // tumbling window per window start collects exactly one window's counts.
  auto hottest =
      counts.key_by([](const windowed<int64_t, int64_t>& w) { return w.window.start.value; })
          .window(tumbling(2s))
          .aggregate(
              hot_auctions{},
              [](hot_auctions& h, const windowed<int64_t, int64_t>& w) {
                if (w.value > h.num) {
                  h.num = w.value;
                  h.auctions.clear();
                }
                if (w.value == h.num) h.auctions.push_back(w.key);
              },
              json_serde<hot_auctions>());
  auto rows = hottest.flat_map([](const windowed<int64_t, hot_auctions>& w) {
    std::vector<q5_row> out;
    for (int64_t a : w.value.auctions) {
      out.push_back({a, w.value.num, w.key, w.key + duration(10s).count()});
    }
    return out;
  });
  write(rows, c);
}

void q7(topology_builder& b, const query_config& c) {
  auto all_bids = bids(events(b, c));
  // B1 = SELECT MAX(price) AS maxprice, wend AS dateTime FROM TUMBLE(bid, 10 s)
  //      GROUP BY wstart, wend   (one group per window: every bid under one key)
  auto max_prices = all_bids.key_by([](const bid&) { return int64_t{0}; })
                        .window(tumbling(10s))
                        .max(&bid::price)
                        .key_by([](const windowed<int64_t, int64_t>& m) { return m.value; });
  // OUT = ... FROM bid B JOIN B1 ON B.price = B1.maxprice
  //       WHERE B.dateTime BETWEEN B1.dateTime - 10 s AND B1.dateTime
  // B1's row is timestamped wend - 1, so wend - 10 s <= B.dateTime <= wend is
  // B.dateTime - 1 ms <= wend - 1 <= B.dateTime + 10 s - 1 ms.
  auto rows = all_bids.key_by(&bid::price)
                  .join(
                      max_prices, join_window{.before = 1ms, .after = 10s - 1ms},
                      [](const bid& x, const windowed<int64_t, int64_t>&) {
                        return q7_row{x.auction, x.price, x.bidder, x.date_time, x.extra};
                      },
                      "highest_bids", binary_bid_serde());
  write(rows, c);
}

void q8(topology_builder& b, const query_config& c) {
  auto ev = events(b, c);
  // P = SELECT id, name, wstart, wend FROM TUMBLE(person, 10 s) GROUP BY id, name, wstart, wend
  auto new_persons =
      persons(ev)
          .key_by(&person::id)
          .window(tumbling(10s))
          .aggregate(std::string(), [](std::string& name, const person& p) { name = p.name; });
  // A = SELECT seller, wstart, wend FROM TUMBLE(auction, 10 s) GROUP BY seller, wstart, wend
  auto sellers = auctions(ev).key_by(&auction::seller).window(tumbling(10s)).count();
  // OUT = P JOIN A ON P.id = A.seller AND same window: both results carry their window's
  // end - 1 as time, so an interval join of width 0 pairs exactly the same windows.
  using person_window = windowed<int64_t, std::string>;
  using seller_window = windowed<int64_t, int64_t>;
  auto rows = new_persons.key_by([](const person_window& p) { return p.key; })
                  .join(sellers.key_by([](const seller_window& a) { return a.key; }),
                        join_window::within(0ms), [](const person_window& p, const seller_window&) {
                          return q8_row{p.key, p.value, p.window.start.value};
                        });
  write(rows, c);
}

const std::vector<query_entry>& all_queries() {
  static const std::vector<query_entry> queries = {
      {"q0", q0}, {"q1", q1}, {"q2", q2}, {"q3", q3},
      {"q4", q4}, {"q5", q5}, {"q7", q7}, {"q8", q8},
  };
  return queries;
}

}  // namespace nexmark
