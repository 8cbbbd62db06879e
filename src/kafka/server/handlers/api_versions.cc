// ApiVersions: the table of APIs and versions we serve, derived from the registry. An
// unsupported ApiVersions version is answered (in v0 form) by the connection before decoding,
// as Kafka does (kafka-compat.md §7).
#include <algorithm>

#include "kafka/server/handlers/handlers.h"

namespace spate::kafka {

std::vector<api_versions_response::api_version> advertised_api_versions() {
  std::vector<api_versions_response::api_version> out;
  for_each_api([&]<class A>() {
    if constexpr (handled<A>) {
      out.push_back({static_cast<int16_t>(A::key), A::min_version, A::max_version});
    }
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.api_key < b.api_key; });
  return out;
}

namespace {

// Kafka's rule for client_software_name/version (KIP-511):
// [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?
bool valid_software_field(const std::string& s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

}  // namespace

asio::awaitable<api_versions_response> handle(request_context& ctx, api_versions_request& req) {
  api_versions_response resp;
  if (ctx.header.version >= 3 && (!valid_software_field(req.client_software_name) ||
                                  !valid_software_field(req.client_software_version))) {
    resp.error_code = to_wire(error_code::invalid_request);
    co_return resp;
  }
  resp.api_keys = advertised_api_versions();
  co_return resp;
}

}  // namespace spate::kafka
