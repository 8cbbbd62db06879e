// order_totals: runs the pipeline of order_totals.h in-process over orders read from stdin,
// one per line as "<timestamp-ms> <order JSON>", and prints every record it writes as
// "<topic> <key> <value>". The Kafka runtime will run the same topology against a broker.
//
//   printf '0 {"order_id":"o1","user_id":"u1","amount":500}\n' | order_totals
#include <iostream>
#include <sstream>
#include <string>

#include "order_totals.h"

int main() {
  auto t = order_totals::build();
  if (!t) {
    std::cerr << "order_totals: " << t.error().message() << "\n";
    return 1;
  }
  auto d = spate::stream::test_driver::create(std::move(*t));
  if (!d) {
    std::cerr << "order_totals: " << d.error().message() << "\n";
    return 1;
  }
  auto print = [&] {
    for (const char* topic :
         {order_totals::totals_topic, order_totals::late_topic, order_totals::dead_letter_topic}) {
      for (auto& r : d->read_raw(topic)) {
        std::cout << topic << " " << r.key.value_or("-") << " " << r.value.value_or("null") << "\n";
      }
    }
  };
  std::string line;
  int line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.empty()) continue;
    std::istringstream in(line);
    int64_t ts = 0;
    if (!(in >> ts)) {
      std::cerr << "order_totals: line " << line_no << ": expected '<timestamp-ms> <json>'\n";
      return 1;
    }
    std::string json;
    std::getline(in >> std::ws, json);
    auto s = d->pipe_raw(order_totals::orders_topic, std::nullopt, json, spate::timestamp_ms(ts));
    if (!s) {
      std::cerr << "order_totals: line " << line_no << ": " << s.error().message() << "\n";
      return 1;
    }
    print();
  }
  if (auto s = d->end_of_input(); !s) {
    std::cerr << "order_totals: " << s.error().message() << "\n";
    return 1;
  }
  print();
  return 0;
}
