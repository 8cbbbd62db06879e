// spate produce TOPIC: one record per line of stdin.
#include <cstdio>
#include <iostream>
#include <unordered_map>

#include "cli/commands.h"
#include "client/errc.h"
#include "client/producer.h"

namespace spate::cli {
namespace {

struct produce_options {
  client_options client;
  std::string topic;
  std::string key_delimiter;  // empty: lines are values, keys are null
  std::vector<std::string> headers;
  std::string acks = "all";
  std::string compression = "none";
  std::optional<int32_t> partition;
  std::optional<int64_t> timestamp;
};

int run_produce(const produce_options& o) {
  client::producer_config pc;
  auto acks = client::parse_acks(o.acks);
  if (!acks) return report("produce", acks.error());
  pc.acks = *acks;
  auto codec = client::parse_compression(o.compression);
  if (!codec) return report("produce", codec.error());
  pc.compression = *codec;
  client::header_list headers;
  for (auto& h : o.headers) {
    auto kv = parse_key_value(h, "--header");
    if (!kv) return report("produce", kv.error());
    headers.push_back({kv->first, kv->second});
  }
  auto cfg = o.client.config();
  if (!cfg) return report("produce", cfg.error());

  auto p = client::producer::connect(*cfg, pc);
  if (!p) return report("produce", p.error());

  std::unordered_map<uint64_t, int64_t> line_of;  // record id -> line, until its report
  int64_t produced = 0;
  int64_t failed = 0;
  std::optional<spate::error> first_failure;
  auto collect = [&](std::vector<client::delivery> reports) {
    for (auto& d : reports) {
      auto line = line_of.extract(d.id);
      if (d.outcome) continue;
      ++failed;
      if (!first_failure) {
        first_failure = d.outcome.error().with_context(
            "line " + (line ? std::to_string(line.mapped()) : std::string("?")));
      }
    }
  };

  std::optional<spate::error> input_error;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    client::outgoing_record r;
    r.topic = o.topic;
    r.headers = headers;
    if (o.partition) r.partition = partition_id(*o.partition);
    if (o.timestamp) r.timestamp = timestamp_ms(*o.timestamp);
    if (o.key_delimiter.empty()) {
      r.value = std::move(line);
    } else {
      auto pos = line.find(o.key_delimiter);
      if (pos == std::string::npos) {
        input_error = spate::error(
            client::errc::invalid_argument,
            "line " + std::to_string(line_no) + " has no key delimiter '" + o.key_delimiter + "'");
        break;
      }
      r.key = line.substr(0, pos);
      r.value = line.substr(pos + o.key_delimiter.size());
    }
    auto id = p->produce(r);
    if (!id) {
      input_error = id.error().with_context("line " + std::to_string(line_no));
      break;
    }
    line_of[*id] = line_no;
    ++produced;
    if (line_no % 1000 == 0) collect(p->poll());
  }

  // Every record already queued gets its chance, even when input stopped early. Each one is
  // bounded by the delivery timeout, so this wait is too.
  auto st = p->flush(cfg->timeout + std::chrono::seconds(5));
  collect(p->poll());
  if (first_failure) {
    std::fprintf(stderr, "spate produce: %lld of %lld record(s) not delivered\n",
                 static_cast<long long>(failed), static_cast<long long>(produced));
    return report("produce", *first_failure);
  }
  if (!st) return report("produce", st.error());
  if (input_error) {
    report("produce", *input_error);
    return exit_failed;  // the records before it were delivered; the input was bad
  }
  return exit_ok;
}

}  // namespace

void add_produce_command(CLI::App& app, command_list& out) {
  auto o = std::make_shared<produce_options>();
  auto* cmd = app.add_subcommand("produce", "Send each line of stdin as one record");
  o->client.add_to(cmd);
  cmd->add_option("topic", o->topic, "Topic to write to")->required();
  cmd->add_option("--key-delimiter,-K", o->key_delimiter,
                  "Split each line at the first occurrence: key before, value after");
  cmd->add_option("--header,-H", o->headers, "Header k=v on every record (repeatable)");
  cmd->add_option("--acks", o->acks, "0 | 1 | all")
      ->capture_default_str()
      ->check(CLI::IsMember({"0", "1", "all", "-1"}));
  cmd->add_option("--compression,-z", o->compression, "none | gzip | snappy | lz4 | zstd")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "gzip", "snappy", "lz4", "zstd"}));
  cmd->add_option("--partition,-p", o->partition,
                  "Partition to write to (default: by key hash, or spread when there is no key)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--timestamp", o->timestamp,
                  "Record timestamp in ms since the epoch (default: now)")
      ->check(CLI::NonNegativeNumber);
  out.push_back({cmd, [o] { return run_produce(*o); }});
}

}  // namespace spate::cli
