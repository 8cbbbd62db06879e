// The protocol edge for errors: each module's errc becomes a Kafka error code here, in one
// function per module, and nowhere else (architecture.md, "Errors").
#pragma once

#include "base/result.h"
#include "kafka/protocol/error_code.h"

namespace spate::kafka {

// Storage failures (storage::errc, and I/O errors that storage passes through).
error_code to_kafka_error(const error& e);
// Coordinator outcomes (coordinator::errc); an empty code is none.
error_code to_kafka_error(std::error_code e);

}  // namespace spate::kafka
