// The stream-processing library in one include: the pipeline DSL, serdes, windows, process
// steps, the engine (the runtime's seam) and the test driver. See src/stream/README.md.
#pragma once

#include "spate/stream/engine.h"
#include "spate/stream/errc.h"
#include "spate/stream/pipeline.h"
#include "spate/stream/process.h"
#include "spate/stream/serde.h"
#include "spate/stream/state_store.h"
#include "spate/stream/test_driver.h"
#include "spate/stream/types.h"
#include "spate/stream/watermark.h"
#include "spate/stream/windows.h"
