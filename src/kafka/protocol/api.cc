#include "kafka/protocol/api.h"

namespace spate::kafka {

result<request_header> parse_request_header(mutable_bytes frame) {
  reader r(frame);
  request_header h;
  h.key = static_cast<api_key>(r.i16());
  h.version = r.i16();
  h.correlation_id = r.i32();
  h.client_id = r.nullable_string(false);
  if (!r.ok()) {
    return error(std::make_error_code(std::errc::bad_message),
                 std::string("request header: ") + r.error());
  }
  h.body_offset = r.position();
  return h;
}

}  // namespace spate::kafka
