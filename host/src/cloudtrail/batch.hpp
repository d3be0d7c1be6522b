// SPDX-License-Identifier: Apache-2.0
// Parses all records of one loaded file at once into one arena (on a worker thread) and orders
// the events by event time, so the dispatching thread only routes.
#pragma once

#include <trailhound/plugin_abi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtrail/record_parser.hpp"
#include "input/input.hpp"

namespace trailhound::cloudtrail {

struct record_failure {
  uint32_t index = 0;   // record index in the file
  uint64_t offset = 0;  // byte offset in the file's (decompressed) content
  std::string reason;
};

// The parsed records of one file. Events and every value reachable from them stay valid as long
// as the batch lives. Movable, not copyable.
class parsed_batch {
 public:
  parsed_batch();
  ~parsed_batch();
  parsed_batch(parsed_batch&&) noexcept;
  parsed_batch& operator=(parsed_batch&&) noexcept;

  input::loaded_file file;       // the source (text kept: raw_json points into it)
  std::vector<th_event> events;  // valid records, ordered by event time (stable)
  std::vector<record_failure> failures;
  // Set for files with more than parse_limits::max_batch_records records: nothing was parsed
  // ahead (memory stays flat); the consumer parses them one by one in file order.
  bool lazy = false;
  // Set when the file was parsed in one pass, without the splitter (a clean Records file whose
  // split the loader left for later: input::limits::defer_split).
  bool whole_file = false;

  // Bytes held (text, parse copy, DOM, events): what the read-ahead budget counts.
  size_t memory_bytes() const noexcept;

  // Asks the CPU to fetch event k's parsed record (its text in the parse copy and its DOM) into
  // the cache. A loader thread built it on another core, so without this the dispatching
  // thread stalls on the record's first reads; issued a couple of events ahead, the fetches
  // overlap the current event's detectors. A no-op for k out of range.
  void prefetch_event(size_t k) const noexcept;

 private:
  friend parsed_batch parse_file(input::loaded_file&& f, const parse_limits& lim) noexcept;
  friend bool parse_whole_file(parsed_batch& b, const parse_limits& lim,
                               const input::limits& split_lim);
  // Adds the event of a parsed record (its DOM ending at dom_end), or a failure when its event
  // fields are not usable.
  void add_event(const th_value* record, std::string_view raw, const input::record_ref& r,
                 uintptr_t dom_end);
  struct arena;
  std::unique_ptr<arena> arena_;
  std::vector<uintptr_t> dom_ends_;  // per event: where its record's DOM ends (for prefetching)
};

// Parses every record of `f` (splitter output, or a file whose split the loader left for later:
// input::limits::defer_split) into a batch (or marks it lazy, see above). Never
// throws: records that cannot be parsed become failures; out of memory turns the rest of the file
// into failures.
parsed_batch parse_file(input::loaded_file&& f, const parse_limits& lim) noexcept;

}  // namespace trailhound::cloudtrail
