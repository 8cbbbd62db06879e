// spate consume TOPIC: print records of a topic from a chosen position.
#include <cstdio>
#include <set>

#include "cli/commands.h"
#include "cli/message_format.h"
#include "client/consumer.h"
#include "client/errc.h"

namespace spate::cli {
namespace {

struct consume_options {
  client_options client;
  std::string topic;
  std::string from = "end";
  std::vector<int32_t> partitions;
  int64_t count = 0;
  bool exit_at_end = false;
  std::string format{default_message_format};
  bool json = false;
};

int run_consume(const consume_options& o) {
  auto from = client::parse_start_position(o.from);
  if (!from) return report("consume", from.error().with_context("--from"));
  auto format = message_format::parse(o.format);
  if (!format) return report("consume", format.error());
  auto cfg = o.client.config();
  if (!cfg) return report("consume", cfg.error());

  auto c = client::consumer::connect(*cfg);
  if (!c) return report("consume", c.error());
  std::vector<partition_id> parts;
  for (auto p : o.partitions) parts.emplace_back(p);
  if (auto st = c->assign(o.topic, parts, *from); !st) return report("consume", st.error());

  // With --exit, stop once every assigned partition has been read to its end.
  std::set<int32_t> not_at_end;
  for (auto& [t, p] : c->assignment()) not_at_end.insert(p.value);
  const auto& stop = stop_on_signal();
  int64_t printed = 0;
  while (!stop.load()) {
    if (o.count > 0 && printed >= o.count) break;
    if (o.exit_at_end && not_at_end.empty()) break;
    auto ev = c->poll(std::chrono::milliseconds(200));
    if (!ev) {
      if (client::is_retriable(ev.error())) {
        std::fprintf(stderr, "spate consume: %s (retrying)\n", ev.error().message().c_str());
        continue;
      }
      return report("consume", ev.error());
    }
    if (!*ev) continue;
    if (auto* m = std::get_if<client::message>(&**ev)) {
      std::string line = o.json ? to_json(*m) : format->render(*m);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
      ++printed;
    } else {
      not_at_end.erase(std::get<client::end_of_partition>(**ev).partition.value);
    }
  }
  return exit_ok;
}

}  // namespace

void add_consume_command(CLI::App& app, command_list& out) {
  auto o = std::make_shared<consume_options>();
  auto* cmd = app.add_subcommand("consume", "Print records of a topic (no consumer group)");
  o->client.add_to(cmd);
  cmd->add_option("topic", o->topic, "Topic to read")->required();
  cmd->add_option("--from,-o", o->from,
                  "Where to start: beginning | end | <offset> | @<timestamp-ms> | -<n> (the last "
                  "n records of each partition)")
      ->capture_default_str();
  cmd->add_option("--partition,-p", o->partitions, "Partition to read (repeatable; default: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--count,-n", o->count, "Stop after this many records")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--exit,-e", o->exit_at_end,
                "Stop at the end of the partitions instead of waiting");
  auto* fmt = cmd->add_option("--format,-f", o->format,
                              "Output template: {topic} {partition} {offset} {timestamp} {key} "
                              "{headers} {value}, \\t \\n")
                  ->capture_default_str();
  cmd->add_flag("--json", o->json, "One JSON object per record")->excludes(fmt);
  out.push_back({cmd, [o] { return run_consume(*o); }});
}

}  // namespace spate::cli
