// SPDX-License-Identifier: Apache-2.0
// Parses one CloudTrail record once (RapidJSON, in-situ on a scratch copy) into the ABI event view.
#pragma once

#include <trailhound/plugin_abi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace trailhound::cloudtrail {

struct parse_limits {
  uint32_t max_depth = 64;             // CloudTrail records nest ~10 deep
  bool depth_prechecked = false;       // the splitter already enforced max_depth
  size_t max_batch_records = 100'000;  // larger files are parsed one record at a time
};

struct parse_error {
  uint64_t offset = 0;  // byte offset inside the record
  std::string reason;
};

// Reusable parser: one per thread. The event and every value reachable from it stay valid until
// the next parse() or reset(). The raw bytes are never modified (a scratch copy is parsed).
class record_parser {
 public:
  record_parser();
  ~record_parser();
  record_parser(const record_parser&) = delete;
  record_parser& operator=(const record_parser&) = delete;

  // Parses `raw` and fills `event`. Returns false with `err` set when the record is unusable
  // (malformed JSON, too deep, not an object, no eventName or eventTime).
  bool parse(std::string_view raw, th_event& event, parse_error& err) noexcept;
  void set_limits(const parse_limits& limits) noexcept;
  // Releases the previous record's memory (also done by the next parse()).
  void reset() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// eventTime text ("2026-11-20T10:00:00Z", fractional seconds and +hh:mm offsets accepted) to
// epoch milliseconds UTC. Returns false when it is not such a timestamp.
bool parse_event_time(std::string_view text, int64_t& epoch_ms) noexcept;
// Epoch milliseconds to "2026-11-20T10:00:00Z" (".123" added when there are milliseconds).
std::string format_time(int64_t epoch_ms);

// Returns the maximum nesting depth of a JSON text, stopping early once it exceeds `limit`
// (constant stack; strings and escapes honoured).
uint32_t json_depth(std::string_view text, uint32_t limit) noexcept;

}  // namespace trailhound::cloudtrail
