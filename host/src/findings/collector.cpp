// SPDX-License-Identifier: Apache-2.0
// Findings collector.
#include "findings/collector.hpp"

namespace trailhound::findings {

collector::collector(const config::effective_config* cfg, std::string environment)
    : cfg_(cfg), environment_(std::move(environment)) {}

void collector::add_sink(std::unique_ptr<sinks::sink> s) {
  // Findings already in an appended sink are not written again (stable ids across runs).
  for (auto& id : s->existing_ids()) seen_ids_.insert(std::move(id));
  sinks_.push_back(std::move(s));
}

void collector::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : sinks_) s->flush();
}

void collector::submit(finding&& f) {
  std::lock_guard<std::mutex> lock(mutex_);
  const config::detector_config* dc = cfg_ ? cfg_->find(f.detector) : nullptr;
  if (dc) {
    if (dc->rule_disabled(f.rule)) {
      ++stats_.disabled;
      return;
    }
    if (dc->severity_override) f.severity = *dc->severity_override;
    if (dc->find_suppression(f.rule, f.principal, f.account_id, f.source_ip, f.last_seen_ms)) {
      ++stats_.suppressed;
      return;
    }
  }
  f.environment = environment_;
  f.host_version = TRAILHOUND_VERSION;
  f.finding_id = compute_finding_id(f);
  if (!seen_ids_.insert(f.finding_id).second) {
    ++stats_.duplicates;
    return;
  }
  ++stats_.emitted;
  if (f.severity >= 0 && f.severity < 5) ++stats_.by_severity[static_cast<size_t>(f.severity)];
  ++stats_.by_detector[f.detector];
  if (f.severity > stats_.max_severity) stats_.max_severity = f.severity;
  for (auto& s : sinks_) s->write(f);
}

void collector::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& s : sinks_) s->close();
}

collector_stats collector::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace trailhound::findings
