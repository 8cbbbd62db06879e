// The generator against nexmark.md: Beam's worked example verbatim (§5.1), the 1:3:46 layout,
// the id relationships of §1.2/§1.4, value distributions, determinism, out-of-order groups and
// both serdes.
#include "nexmark/generator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>

#include "nexmark/model.h"

namespace {

using namespace nexmark;

uint64_t random_seed() {
  static std::random_device rd;
  uint64_t s = (uint64_t(rd()) << 32) | rd();
  std::printf("seed %llu\n", static_cast<unsigned long long>(s));
  return s;
}

TEST(generator, beam_first_ten_events_match_the_worked_example) {
  generator gen(generator_config::beam_default());
  auto ev = gen.generate(0, 10);
  const int64_t base = beam_base_time;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(ev[i].date_time(), base + 10 * i) << i;

  const person* p = ev[0].as_person();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id, 1000);
  EXPECT_EQ(p->name, "Peter Jones");
  EXPECT_EQ(p->email_address, "nhd@xcat.com");
  EXPECT_EQ(p->credit_card, "7241 7320 9143 4888");
  EXPECT_EQ(p->city, "Portland");
  EXPECT_EQ(p->state, "WY");
  EXPECT_EQ(
      p->extra,
      R"x(WN_HS_bnpkkiwhwana_L^`KZjdgsid`K]MLU[aaOH`ztxbulvlxtkn_ZZ^T\mqgdjzvlkymsmfrhkfVYSXK_OY[aVYVKa\X^]RO]OYguwiduWJNQLLaMLHOTaHY_J[YKWaUOSJN_VHWXZ]`SgbnjqeVVQ\[[)x");

  struct want_auction {
    int64_t id, category, initial_bid, reserve, expires;
    std::string item_name;
    size_t description_size, extra_size;
  };
  const want_auction want[] = {
      {1000, 13, 28'873, 29'448, base + 9'425, "wkx mgee", 24, 346},
      {1001, 12, 25'626'290, 28'805'847, base + 12'010, "z ck w", 89, 319},
      {1002, 10, 267, 422'398, base + 30'159, "gxycmhtobprpd", 54, 407},
  };
  for (int i = 0; i < 3; ++i) {
    const auction* a = ev[1 + i].as_auction();
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->id, want[i].id);
    EXPECT_EQ(a->seller, 1000);
    EXPECT_EQ(a->category, want[i].category);
    EXPECT_EQ(a->initial_bid, want[i].initial_bid);
    EXPECT_EQ(a->reserve, want[i].reserve);
    EXPECT_EQ(a->expires, want[i].expires);
    EXPECT_EQ(a->item_name, want[i].item_name);
    EXPECT_EQ(a->description.size(), want[i].description_size);
    EXPECT_EQ(a->extra.size(), want[i].extra_size);
  }
  EXPECT_EQ(ev[1].as_auction()->description, "eszpqxtdxrvwmmywkmogoahf");

  const int64_t bidders[] = {1001, 1009, 1001, 1001, 1001, 1001};
  const int64_t prices[] = {32'530'001, 468'715, 300'435, 3'126'206, 381'373, 3'968'405};
  const size_t extras[] = {77, 75, 71, 66, 74, 57};
  for (int i = 0; i < 6; ++i) {
    const bid* b = ev[4 + i].as_bid();
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->auction, 1000);
    EXPECT_EQ(b->bidder, bidders[i]);
    EXPECT_EQ(b->price, prices[i]);
    EXPECT_EQ(b->extra.size(), extras[i]);
    EXPECT_TRUE(b->channel.empty());
  }
  EXPECT_EQ(ev[4].as_bid()->extra,
            R"x(fdiysaV^]NLVsbolvyqwgticfdrwdyiyofziYMU\Z`UaTQO][NX\RM]WPYTOuwogvszlxjrcNOORM)x");
}

TEST(generator, beam_with_one_generator_changes_only_times) {
  auto c = generator_config::beam_default();
  c.inter_event_delay_us = 100;  // one generator at 10,000 events/s
  generator gen(c);
  auto ev = gen.generate(0, 10);
  for (auto& e : ev) EXPECT_EQ(e.date_time(), beam_base_time);
  EXPECT_EQ(ev[1].as_auction()->expires, beam_base_time + 11);
  EXPECT_EQ(ev[2].as_auction()->expires, beam_base_time + 202);
  EXPECT_EQ(ev[3].as_auction()->expires, beam_base_time + 1);
  EXPECT_EQ(ev[9].as_bid()->price, 3'968'405);
}

TEST(generator, proportions_and_entity_ids) {
  generator_config c;
  c.seed = random_seed();
  generator gen(c);
  const int64_t n = 50'000;
  std::map<event_type, int64_t> kinds;
  int64_t next_person = first_person_id;
  int64_t next_auction = first_auction_id;
  for (int64_t i = 0; i < n; ++i) {
    event e = gen.at(i);
    ++kinds[e.type()];
    // Each 50-id block: a person at offset 0, auctions at 1-3, bids after (§1.2).
    int64_t off = gen.event_id_of(i) % 50;
    EXPECT_EQ(e.type(), off == 0  ? event_type::person
                        : off < 4 ? event_type::auction
                                  : event_type::bid);
    if (const auto* p = e.as_person()) {
      EXPECT_EQ(p->id, next_person++);
    }
    if (const auto* a = e.as_auction()) {
      EXPECT_EQ(a->id, next_auction++);
    }
  }
  EXPECT_EQ(kinds[event_type::person], n / 50);
  EXPECT_EQ(kinds[event_type::auction], 3 * n / 50);
  EXPECT_EQ(kinds[event_type::bid], 46 * n / 50);
}

TEST(generator, references_name_existing_persons_and_auctions) {
  generator_config c;
  c.seed = random_seed();
  generator gen(c);
  const int64_t n = 200'000;
  auto ev = gen.generate(0, n);
  std::set<int64_t> persons, auctions;
  for (auto& e : ev) {
    if (const auto* p = e.as_person()) persons.insert(p->id);
    if (const auto* a = e.as_auction()) auctions.insert(a->id);
  }
  // References may lead creation by 10 persons (500 events) or 10 auctions (~170 events):
  // everything referenced before the last 1000 events exists by the end.
  int64_t hot_auctions = 0, bids = 0;
  for (int64_t i = 0; i < n - 1000; ++i) {
    const int64_t id = gen.event_id_of(i);
    if (const auto* a = ev[i].as_auction()) {
      EXPECT_TRUE(persons.count(a->seller)) << a->seller;
      EXPECT_LE(a->seller, first_person_id + gen.last_base0_person_id(id) + person_id_lead);
      EXPECT_GT(a->expires, a->date_time);
      EXPECT_LE(a->expires - a->date_time, c.max_auction_length_ms());
      EXPECT_GT(a->reserve, a->initial_bid);
      EXPECT_GE(a->category, 10);
      EXPECT_LE(a->category, 14);
    }
    if (const auto* b = ev[i].as_bid()) {
      ++bids;
      EXPECT_TRUE(auctions.count(b->auction)) << b->auction;
      EXPECT_TRUE(persons.count(b->bidder)) << b->bidder;
      int64_t newest = first_auction_id + gen.last_base0_auction_id(id);
      EXPECT_LE(b->auction, newest + auction_id_lead);
      EXPECT_GE(b->auction, newest - num_in_flight_auctions - hot_block);
      if (b->auction == first_auction_id + (newest - first_auction_id) / 100 * 100) ++hot_auctions;
      EXPECT_GE(b->price, 100);
      EXPECT_LE(b->price, 100'000'000);
      EXPECT_GE(b->extra.size(), 54u);
      EXPECT_LE(b->extra.size(), 81u);
    }
  }
  // Hot with probability 1/2, plus random picks that land on it.
  double hot = double(hot_auctions) / double(bids);
  EXPECT_GT(hot, 0.48);
  EXPECT_LT(hot, 0.56);
}

TEST(generator, prices_are_log_uniform) {
  generator_config c;
  c.seed = random_seed();
  generator gen(c);
  int64_t low = 0, mid = 0, high = 0;
  for (int64_t i = 0; i < 60'000; ++i) {
    auto e = gen.at(i);
    if (const auto* b = e.as_bid()) {
      (b->price < 10'000 ? low : b->price < 1'000'000 ? mid : high)++;
    }
  }
  double total = double(low + mid + high);
  for (int64_t band : {low, mid, high}) EXPECT_NEAR(double(band) / total, 1.0 / 3, 0.02);
}

TEST(generator, deterministic_from_the_seed_and_random_access) {
  auto c = generator_config::flink_v2(random_seed());
  generator a(c), b(c);
  auto seq = a.generate(0, 3000);
  for (int64_t i : {0, 1, 77, 2999, 1234}) EXPECT_EQ(b.at(i), seq[size_t(i)]) << i;
  EXPECT_EQ(b.generate(0, 3000), seq);
  auto other = c;
  other.seed ^= 1;
  EXPECT_NE(generator(other).generate(0, 3000), seq);
  // Flink's layout: the first event is id 2, auction 1001 (§5.2); bids carry channel and url.
  EXPECT_EQ(a.event_id_of(0), 2);
  ASSERT_NE(seq[0].as_auction(), nullptr);
  EXPECT_EQ(seq[0].as_auction()->id, 1001);
  int64_t hot_channels = 0, bids = 0;
  for (auto& e : seq) {
    if (const auto* x = e.as_bid()) {
      ++bids;
      EXPECT_EQ(x->url.rfind("https://www.nexmark.com/", 0), 0u) << x->url;
      if (x->channel.rfind("channel-", 0) != 0) ++hot_channels;
    }
  }
  EXPECT_NEAR(double(hot_channels) / double(bids), 0.5, 0.05);
}

TEST(generator, flink_bidder_offset_shifts_only_bidders) {
  generator_config c;
  c.seed = random_seed();
  auto flink = c;
  flink.flink_bidder_offset = true;
  generator plain(c), doubled(flink);
  for (int64_t i = 0; i < 2000; ++i) {
    event a = plain.at(i), b = doubled.at(i);
    if (auto* x = a.as_bid()) {
      auto y = *b.as_bid();
      EXPECT_EQ(y.bidder, x->bidder + first_person_id);
      y.bidder = x->bidder;
      EXPECT_EQ(y, *x);
    } else {
      EXPECT_EQ(a, b);
    }
  }
}

TEST(generator, out_of_order_groups_permute_each_group) {
  generator_config c;
  c.seed = random_seed();
  c.out_of_order_group_size = 100;
  generator gen(c);
  bool disordered = false;
  for (int64_t g = 0; g < 20; ++g) {
    std::set<int64_t> ids;
    for (int64_t i = g * 100; i < (g + 1) * 100; ++i) {
      ids.insert(gen.event_id_of(i));
      if (i > 0 && gen.event_id_of(i) < gen.event_id_of(i - 1)) disordered = true;
    }
    EXPECT_EQ(ids.size(), 100u);
    EXPECT_EQ(*ids.begin(), g * 100);
    EXPECT_EQ(*ids.rbegin(), g * 100 + 99);
  }
  EXPECT_TRUE(disordered);
  // The content follows the id: the same event as the in-order generator's.
  generator_config in_order = c;
  in_order.out_of_order_group_size = 1;
  generator plain(in_order);
  for (int64_t i = 0; i < 300; ++i) EXPECT_EQ(gen.at(i), plain.at(gen.event_id_of(i)));
}

TEST(generator, serdes_round_trip) {
  auto c = generator_config::flink_v2(random_seed());
  generator gen(c);
  auto json = spate::stream::json_serde<event>();
  auto bin = binary_event_serde();
  for (int64_t i = 0; i < 500; ++i) {
    event e = gen.at(i);
    auto j = json.deserialize(json.serialize(e));
    ASSERT_TRUE(j) << j.error().message();
    EXPECT_EQ(*j, e);
    auto bytes = bin.serialize(e);
    auto b = bin.deserialize(bytes);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(*b, e);
    EXPECT_FALSE(bin.deserialize(bytes.substr(0, bytes.size() - 1)));
    EXPECT_FALSE(bin.deserialize(bytes + "x"));
  }
  auto first_bid = gen.at(2);
  ASSERT_NE(first_bid.as_bid(), nullptr);
  auto bs = binary_bid_serde();
  auto back = bs.deserialize(bs.serialize(*first_bid.as_bid()));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *first_bid.as_bid());
  EXPECT_EQ(nlohmann::json(gen.at(0))["event_type"], 1);
}

}  // namespace

// FNV-1a over every field of every event, so that any change to any generated value shows.
class event_digest {
 public:
  void add(const event& e) {
    add_int(int64_t(e.value.index()));
    if (const auto* p = e.as_person()) {
      add_int(p->id);
      for (const auto* s :
           {&p->name, &p->email_address, &p->credit_card, &p->city, &p->state, &p->extra}) {
        add_str(*s);
      }
      add_int(p->date_time);
    } else if (const auto* a = e.as_auction()) {
      for (int64_t v :
           {a->id, a->initial_bid, a->reserve, a->date_time, a->expires, a->seller, a->category}) {
        add_int(v);
      }
      for (const auto* s : {&a->item_name, &a->description, &a->extra}) add_str(*s);
    } else if (const auto* b = e.as_bid()) {
      for (int64_t v : {b->auction, b->bidder, b->price, b->date_time}) add_int(v);
      for (const auto* s : {&b->channel, &b->url, &b->extra}) add_str(*s);
    }
  }
  uint64_t value() const { return _h; }

 private:
  void add_byte(uint8_t b) {
    _h ^= b;
    _h *= 0x100000001B3ULL;
  }
  void add_int(int64_t v) {
    for (int i = 0; i < 8; ++i) add_byte(uint8_t(uint64_t(v) >> (8 * i)));
  }
  void add_str(const std::string& s) {
    add_int(int64_t(s.size()));
    for (char c : s) add_byte(uint8_t(c));
  }
  uint64_t _h = 0xCBF29CE484222325ULL;
};

uint64_t digest_of(const generator_config& c, int64_t first, int64_t n) {
  generator gen(c);
  event_digest d;
  for (int64_t i = first; i < first + n; ++i) d.add(gen.at(i));
  return d.value();
}

// The digests were computed with the generator as it was before it was optimised (commit
// 7667a08): any optimisation must leave every generated event exactly as it was.
TEST(generator, output_is_pinned_by_digests) {
  EXPECT_EQ(digest_of(generator_config::beam_default(), 0, 20'000), 0xD7DB356D839B5E25ULL);
  EXPECT_EQ(digest_of(generator_config::flink_v2(42), 0, 20'000), 0x4F9D651809804C82ULL);
  // Far into the stream (large ids, late timestamps), another seed.
  EXPECT_EQ(digest_of(generator_config::flink_v2(7), 5'000'000, 5'000), 0xB635FB33EE6D23FBULL);
  auto ooo = generator_config::flink_v2(3);
  ooo.out_of_order_group_size = 100;
  ooo.flink_bidder_offset = true;
  EXPECT_EQ(digest_of(ooo, 0, 5'000), 0xAE057F6E6E1D4C7FULL);
}
