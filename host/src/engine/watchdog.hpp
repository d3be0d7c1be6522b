// SPDX-License-Identifier: Apache-2.0
// Hang watchdog: the host cannot interrupt a detector call, but it must not hang silently. A
// thread watches the engine's call probe; when one call has run longer than the timeout it
// reports the detector, the callback and the event, and hands over to `on_hang` (the CLI makes
// the findings so far durable and exits with its own code).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "engine/engine.hpp"

namespace trailhound::engine {

class hang_watchdog {
 public:
  // timeout_ms <= 0 disables it. `on_hang` runs on the watchdog thread with the report line; it
  // is expected not to return (the stuck call cannot be undone).
  hang_watchdog(const engine& eng, int64_t timeout_ms,
                std::function<void(const std::string&)> on_hang);
  ~hang_watchdog();
  hang_watchdog(const hang_watchdog&) = delete;
  hang_watchdog& operator=(const hang_watchdog&) = delete;

  // The report for a call of `inst` inside `what` for `seconds` (exposed for tests).
  static std::string describe(const th_host_ctx& inst, const char* what, const th_event* ev,
                              double seconds);

 private:
  void watch();

  const engine& eng_;
  int64_t timeout_ms_;
  std::function<void(const std::string&)> on_hang_;
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace trailhound::engine
