// SPDX-License-Identifier: Apache-2.0
// The run summary printed on stderr after a scan.
#pragma once

#include <cstdio>
#include <vector>

#include "engine/engine.hpp"
#include "findings/collector.hpp"
#include "pipeline/scan.hpp"

namespace trailhound::cli {

void print_summary(std::FILE* out, const pipeline::scan_summary& scan,
                   const findings::collector_stats& found,
                   const std::vector<engine::instance_stats>& detectors);

}  // namespace trailhound::cli
