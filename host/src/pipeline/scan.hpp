// SPDX-License-Identifier: Apache-2.0
// The scan pipeline: discovered files are read, decompressed and split by worker threads, handed
// off in order, parsed once, de-duplicated and dispatched to the engine.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "input/input.hpp"

namespace trailhound::pipeline {

struct scan_options {
  std::vector<std::string> paths;
  input::limits limits;
  int64_t dedup_window_ms = 6 * 3600 * 1000;
  unsigned loader_threads = 0;  // read+inflate+split+parse workers; 0 = one per core
  // Read-ahead of the loader threads (memory bound): parsed files waiting for dispatch, at most,
  // and the bytes they may hold (text, parse copy, DOM). With all detectors the dispatching
  // thread has slower stretches; 16 MB ran out in them and left a core idle 9-13% of the scan,
  // 32 MB 6% (1M events; peak RSS 60 -> 85 MB, and 224 MB on 10M events in 10x larger files).
  size_t max_files_ahead = 256;
  uint64_t max_bytes_ahead = 32ull << 20;
  size_t max_reported_problems = 50;  // per kind; the rest only counted
  bool progress = false;              // a progress line on stderr
  // Resume support: files for which `skip` returns true are not loaded (counted as "already
  // processed"); `after_file` runs on the dispatching thread once a file's events are delivered.
  std::function<bool(const input::input_file&)> skip;
  std::function<void(const input::input_file&)> after_file;
};

struct scan_summary {
  input::input_counters input;
  uint64_t records_parsed = 0;     // valid records
  uint64_t records_malformed = 0;  // split out but unusable (parse errors, missing fields)
  uint64_t records_duplicate = 0;  // same eventID delivered again
  uint64_t records_dispatched = 0;
  std::map<std::string, uint64_t> malformed_by_reason;
  std::map<std::string, uint64_t> file_problems_by_reason;
  uint64_t problems_reported = 0;  // lines written through report()
  uint64_t problems_unreported = 0;
  double seconds = 0;
  int64_t first_event_ms = 0;
  int64_t last_event_ms = 0;

  bool had_input_errors() const noexcept;
};

// `report` receives one line per problem ("path: record 12 (byte 3456): reason"), capped.
scan_summary run_scan(const scan_options& opts, engine::engine& eng,
                      const std::function<void(const std::string&)>& report);

}  // namespace trailhound::pipeline
