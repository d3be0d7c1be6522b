// SPDX-License-Identifier: Apache-2.0
#include "engine/watchdog.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace trailhound::engine {
namespace {

std::string_view sv(th_str s) noexcept {
  return s.len && s.ptr ? std::string_view(s.ptr, static_cast<size_t>(s.len)) : std::string_view();
}

}  // namespace

hang_watchdog::hang_watchdog(const engine& eng, int64_t timeout_ms,
                             std::function<void(const std::string&)> on_hang)
    : eng_(eng), timeout_ms_(timeout_ms), on_hang_(std::move(on_hang)) {
  if (timeout_ms_ > 0) thread_ = std::thread([this] { watch(); });
}

hang_watchdog::~hang_watchdog() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string hang_watchdog::describe(const th_host_ctx& inst, const char* what, const th_event* ev,
                                    double seconds) {
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.0f", seconds);
  std::string line = "detector " + inst.stats.instance_id + " (" + inst.binding->spec.file +
                     ") has not returned from " + what + " for " + secs + " s";
  if (ev) {
    line += " (event " + std::string(sv(ev->event_id)) + ", " + std::string(sv(ev->event_source)) +
            " " + std::string(sv(ev->event_name)) + ")";
  }
  line += ": it is hung and cannot be interrupted; the scan stops here";
  return line;
}

void hang_watchdog::watch() {
  pthread_setname_np(pthread_self(), "th-watchdog");
  const call_probe& probe = eng_.probe();
  // Checked a few times per timeout; a call counts as hung once the same call (same sequence
  // number) has been seen running for longer than the timeout.
  const auto period = std::chrono::milliseconds(std::clamp<int64_t>(timeout_ms_ / 4, 10, 1000));
  std::unique_lock<std::mutex> lock(m_);
  while (!cv_.wait_for(lock, period, [&] { return stop_; })) {
    const th_host_ctx* inst = probe.inst.load(std::memory_order_acquire);
    if (!inst) continue;
    const uint64_t call = probe.calls.load(std::memory_order_relaxed);
    const int64_t since = probe.since_ns.load(std::memory_order_relaxed);
    const char* what = probe.what.load(std::memory_order_relaxed);
    const th_event* ev = probe.event.load(std::memory_order_relaxed);
    const int64_t ran_ms = (now_ns() - since) / 1'000'000;
    // Still the same call as the one read above (the dispatching thread may have moved on).
    if (ran_ms <= timeout_ms_ || probe.calls.load(std::memory_order_acquire) != call ||
        probe.inst.load(std::memory_order_acquire) != inst)
      continue;
    lock.unlock();
    on_hang_(describe(*inst, what, ev, static_cast<double>(ran_ms) / 1000.0));
    return;
  }
}

}  // namespace trailhound::engine
