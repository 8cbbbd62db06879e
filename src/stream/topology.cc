#include <set>

#include "spate/stream/pipeline.h"

namespace spate::stream {

topology::topology(std::unique_ptr<detail::graph> g) : _g(std::move(g)) {}
topology::topology(topology&&) noexcept = default;
topology& topology::operator=(topology&&) noexcept = default;
topology::~topology() = default;

std::vector<std::string> topology::source_topics() const {
  std::vector<std::string> out;
  for (auto* s : _g->sources) out.push_back(s->topic());
  return out;
}

std::vector<std::string> topology::table_topics() const {
  std::vector<std::string> out;
  for (auto* s : _g->sources) {
    if (s->is_table()) out.push_back(s->topic());
  }
  return out;
}

std::vector<std::string> topology::sink_topics() const {
  std::set<std::string> unique(_g->sink_topics.begin(), _g->sink_topics.end());
  return {unique.begin(), unique.end()};
}

std::vector<std::string> topology::repartition_steps() const {
  std::vector<std::string> out;
  for (auto& n : _g->nodes) {
    if (dynamic_cast<detail::repartition_core*>(n.get()) != nullptr) out.push_back(n->name);
  }
  return out;
}

std::string topology::describe() const {
  std::string out;
  for (auto& n : _g->nodes) {
    out += n->name;
    if (!n->inputs.empty()) {
      out += " <-";
      for (auto* in : n->inputs) out += " " + in->name;
    }
    out += "\n";
  }
  return out;
}

topology_builder::topology_builder() : _g(std::make_unique<detail::graph>()) {}
topology_builder::~topology_builder() = default;

result<topology> topology_builder::build() {
  if (_g->built) return error(errc::invalid_argument, "build() was called twice");
  if (_g->sources.empty()) _g->errors.push_back("the pipeline has no source");
  if (!_g->errors.empty()) {
    std::string all;
    for (auto& e : _g->errors) all += (all.empty() ? "" : "; ") + e;
    _g->errors.clear();
    return error(errc::invalid_topology, all);
  }
  _g->built = true;
  auto g = std::move(_g);
  // Keep the builder usable for error reporting if someone adds steps later: they assert.
  _g = std::make_unique<detail::graph>();
  _g->built = true;
  return topology(std::move(g));
}

}  // namespace spate::stream
