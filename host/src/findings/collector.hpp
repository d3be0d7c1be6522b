// SPDX-License-Identifier: Apache-2.0
// Central findings collector: applies per-detector policy (disabled rules, severity override,
// suppressions), stamps ids and versions, drops duplicates, counts, and hands off to the sinks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "findings/finding.hpp"
#include "sinks/sink.hpp"

namespace trailhound::findings {

struct collector_stats {
  uint64_t emitted = 0;     // written to the sinks
  uint64_t suppressed = 0;  // matched a suppression
  uint64_t disabled = 0;    // rule disabled in config
  uint64_t duplicates = 0;  // same finding_id as an earlier finding of this run
  std::array<uint64_t, 5> by_severity{};
  std::map<std::string, uint64_t> by_detector;
  int32_t max_severity = -1;
};

class collector {
 public:
  // `cfg` may be null (no policy). It must outlive the collector.
  collector(const config::effective_config* cfg, std::string environment);
  void add_sink(std::unique_ptr<sinks::sink> s);

  // Takes a validated finding with detector, detector_version and times filled. Thread-safe.
  void submit(finding&& f);
  // Makes the sinks durable (before a checkpoint).
  void flush();
  void close();

  collector_stats stats() const;
  const std::string& environment() const { return environment_; }

 private:
  const config::effective_config* cfg_;
  std::string environment_;
  std::vector<std::unique_ptr<sinks::sink>> sinks_;
  std::unordered_set<std::string> seen_ids_;
  collector_stats stats_;
  mutable std::mutex mutex_;
};

}  // namespace trailhound::findings
