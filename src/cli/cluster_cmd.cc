// spate cluster info: brokers, controller and topics, from Metadata.
#include <cstdio>

#include "cli/commands.h"
#include "client/cluster_info.h"

namespace spate::cli {
namespace {

int run_info(const client_options& o) {
  auto cfg = o.config();
  if (!cfg) return report("cluster info", cfg.error());
  auto info = client::describe_cluster(*cfg, client::metadata_scope::all_topics);
  if (!info) return report("cluster info", info.error());
  std::printf("cluster id: %s\n", info->cluster_id.value_or("(none)").c_str());
  std::printf("controller: %d\n", info->controller_id);
  std::printf("brokers: %zu\n", info->brokers.size());
  for (auto& b : info->brokers) {
    std::printf("  %d  %s:%d%s\n", b.id, b.host.c_str(), b.port,
                b.id == info->controller_id ? "  (controller)" : "");
  }
  std::printf("topics: %zu\n", info->topics.size());
  for (auto& t : info->topics) {
    std::printf("  %s  %zu partition(s)%s%s\n", t.name.c_str(), t.partitions.size(),
                t.error ? "  error: " : "", t.error ? t.error->message().c_str() : "");
  }
  return exit_ok;
}

}  // namespace

void add_cluster_commands(CLI::App& app, command_list& out) {
  auto* cluster = app.add_subcommand("cluster", "What the cluster says about itself");
  cluster->require_subcommand(1);
  auto o = std::make_shared<client_options>();
  auto* info = cluster->add_subcommand("info", "Brokers, controller and topics");
  o->add_to(info);
  out.push_back({info, [o] { return run_info(*o); }});
}

}  // namespace spate::cli
