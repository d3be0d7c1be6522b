// SPDX-License-Identifier: Apache-2.0
// Detector instances, the host services table they call, dispatch of events through the router,
// event-time ticks, and quarantine of misbehaving instances.
#pragma once

#include <trailhound/plugin_abi.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cloudtrail/value_api.hpp"
#include "config/config.hpp"
#include "findings/collector.hpp"
#include "plugins/binding.hpp"
#include "routing/router.hpp"

namespace trailhound::engine {

struct engine_options {
  std::string environment;
  uint32_t max_errors = 100;           // TH_ERROR returns before quarantine
  int64_t default_tick_ms = 60'000;    // event-time tick interval
  int64_t slow_call_ns = 250'000'000;  // one call slower than this is "slow"
  uint32_t max_slow_calls = 20;        // slow calls before quarantine
  size_t max_evidence_bytes = 256 * 1024;
  size_t max_text_bytes = 16 * 1024;  // title, summary, each string field
  size_t max_event_ids = 10'000;
};

struct instance_stats {
  std::string instance_id;
  std::string detector;
  uint64_t events = 0;
  uint64_t errors = 0;
  uint64_t findings = 0;
  uint64_t rejected_findings = 0;
  uint64_t slow_calls = 0;
  uint64_t busy_ns = 0;
  bool quarantined = false;
  std::string quarantine_reason;
  std::map<std::string, int64_t, std::less<>> counters;  // less<>: found by string_view
};

class engine;

// What the dispatching thread is doing, published for the hang watchdog (another thread): the
// detector call it is inside of, since when, and on which event.
struct call_probe {
  std::atomic<uint64_t> calls{0};                 // bumped at every call
  std::atomic<const th_host_ctx*> inst{nullptr};  // null: not inside a detector
  std::atomic<const char*> what{""};              // "on_event", "on_tick", ...
  std::atomic<const th_event*> event{nullptr};    // for on_event
  std::atomic<int64_t> since_ns{0};               // steady clock
};

// The engine's time base for call budgets, in nanoseconds: the coarse monotonic clock (a few ms
// resolution, read without the TSC). It is read after every detector call (inline: that is once
// per subscriber of every event), and only has to tell calls against a budget of hundreds of
// milliseconds. Summed call times stay unbiased (a call straddles a tick in proportion to its
// length).
inline int64_t now_ns() noexcept {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace trailhound::engine

// The per-instance context behind the opaque th_host_ctx handle.
struct th_host_ctx {
  trailhound::engine::engine* owner = nullptr;
  const trailhound::plugins::detector_binding* binding = nullptr;
  const trailhound::config::detector_config* config = nullptr;
  void* handle = nullptr;
  bool created = false;
  bool in_create = false;
  const th_event* current_event = nullptr;
  int64_t current_time_ms = 0;
  int64_t tick_interval_ms = 60'000;
  int64_t next_tick_ms = INT64_MIN;
  std::vector<trailhound::cloudtrail::json_pointer> fields;
  std::string json_buffer;
  std::string last_error;
  trailhound::engine::instance_stats stats;
};

namespace trailhound::engine {

class engine {
 public:
  // `cfg` and `out` must outlive the engine.
  engine(const config::effective_config& cfg, findings::collector& out, engine_options opts);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Registers a detector (before start). The binding must outlive the engine.
  void add(const plugins::detector_binding& binding);
  // Validated params, then create() for every enabled detector. Returns one line per detector
  // that could not be created (it does not run). Throws config::config_error for a bad param.
  std::vector<std::string> start();

  // Routes one event to its subscribers. Never throws.
  void dispatch(const th_event& ev) noexcept;
  // The same with `route_hash` == routing::route_key_hash(eventSource, eventName) computed
  // beforehand (by the scan's loader threads).
  void dispatch(const th_event& ev, uint64_t route_hash) noexcept;
  // End of input: a final tick at the last event time, then on_flush, for every instance.
  void finish() noexcept;

  std::vector<instance_stats> stats() const;
  size_t instance_count() const noexcept { return instances_.size(); }
  th_host_ctx* find(std::string_view instance_id) noexcept;

  // Learned state of an instance (empty optional when it has none / failed).
  bool snapshot(th_host_ctx& inst, std::string& bytes);
  bool restore(th_host_ctx& inst, uint32_t schema_version, std::string_view bytes);
  std::vector<th_host_ctx*> instances() noexcept;

  // Host services (called through the th_host_api table).
  void log(th_host_ctx& inst, int32_t level, std::string_view msg);
  th_status emit(th_host_ctx& inst, const th_finding* f) noexcept;
  bool is_known_account(std::string_view account) const noexcept;
  // The accounts seen so far (host state persisted with the detectors' state).
  std::string known_accounts_state() const;
  void restore_known_accounts(std::string_view state);
  const config::effective_config& config() const noexcept { return cfg_; }
  const engine_options& options() const noexcept { return opts_; }
  int64_t watermark_ms() const noexcept { return watermark_ms_; }
  // Log lines the host wrote about instances (errors, quarantines); also sent to stderr.
  const std::vector<std::string>& messages() const noexcept { return messages_; }
  void set_log_to_stderr(bool on) noexcept { log_to_stderr_ = on; }
  void set_log_level(int32_t min_level) noexcept { min_log_level_ = min_level; }
  const call_probe& probe() const noexcept { return probe_; }

 private:
  th_status call_result(th_host_ctx& inst, th_status st, const char* where, int64_t ns) noexcept;
  void quarantine(th_host_ctx& inst, const std::string& reason) noexcept;
  // The trailhound/detector-quarantined health finding for an instance already quarantined.
  void report_quarantine(th_host_ctx& inst) noexcept;
  void tick_due(int64_t now_ms) noexcept;
  void note_accounts(const th_event& ev) noexcept;
  void note_account(std::string_view acct) noexcept;
  void message(std::string line);
  void enter_call(const th_host_ctx& inst, const char* what, int64_t since_ns,
                  const th_event* ev = nullptr) noexcept {
    probe_.since_ns.store(since_ns, std::memory_order_relaxed);
    probe_.what.store(what, std::memory_order_relaxed);
    probe_.event.store(ev, std::memory_order_relaxed);
    // This thread is the only writer: a plain increment, not a locked read-modify-write.
    probe_.calls.store(probe_.calls.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    probe_.inst.store(&inst, std::memory_order_release);
  }
  void leave_call() noexcept { probe_.inst.store(nullptr, std::memory_order_release); }

  const config::effective_config& cfg_;
  findings::collector& out_;
  engine_options opts_;
  th_host_api api_{};
  std::vector<const plugins::detector_binding*> bindings_;
  std::vector<std::unique_ptr<th_host_ctx>> instances_;
  routing::router router_;
  int64_t watermark_ms_ = INT64_MIN;
  int64_t next_tick_ms_ = INT64_MIN;  // earliest next_tick_ms of all instances
  std::unordered_set<std::string, routing::string_hash, std::equal_to<>> known_accounts_;
  std::string last_account_;
  std::vector<std::string> messages_;
  bool log_to_stderr_ = true;
  int32_t min_log_level_ = TH_LOG_INFO;
  bool finished_ = false;
  call_probe probe_;
};

}  // namespace trailhound::engine
