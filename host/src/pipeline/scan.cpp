// SPDX-License-Identifier: Apache-2.0
// Scan pipeline: ordered hand-off from loader threads to the dispatching thread.
#include "pipeline/scan.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "cloudtrail/record_parser.hpp"
#include "pipeline/dedup.hpp"

namespace trailhound::pipeline {
namespace {

// Loads files on worker threads; take(i) returns file i once loaded, in order.
class ordered_loader {
 public:
  ordered_loader(const std::vector<input::input_file>& files, const input::limits& lim,
                 unsigned threads, size_t ahead)
      : files_(files), lim_(lim), ahead_(ahead < 1 ? 1 : ahead), slots_(files.size()) {
    for (unsigned t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~ordered_loader() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }

  input::loaded_file take(size_t i) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return slots_[i].has_value(); });
    input::loaded_file f = std::move(*slots_[i]);
    slots_[i].reset();
    consumed_ = i + 1;
    lock.unlock();
    cv_.notify_all();
    return f;
  }

 private:
  void work() {
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(m_);
        // Bounded read-ahead keeps memory flat whatever the number of files.
        cv_.wait(lock, [&] { return stop_ || next_ >= files_.size() || next_ < consumed_ + ahead_; });
        if (stop_ || next_ >= files_.size()) return;
        i = next_++;
      }
      input::loaded_file f = input::load_file(files_[i], lim_);
      {
        std::lock_guard<std::mutex> lock(m_);
        slots_[i] = std::move(f);
      }
      cv_.notify_all();
    }
  }

  const std::vector<input::input_file>& files_;
  input::limits lim_;
  size_t ahead_;
  std::vector<std::optional<input::loaded_file>> slots_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable cv_;
  size_t next_ = 0;
  size_t consumed_ = 0;
  bool stop_ = false;
};

}  // namespace

bool scan_summary::had_input_errors() const noexcept {
  return records_malformed > 0 || input.files_failed > 0 || input.path_problems > 0 ||
         input.record_errors > 0 || input.file_errors > 0;
}

scan_summary run_scan(const scan_options& opts, engine::engine& eng,
                      const std::function<void(const std::string&)>& report) {
  auto t0 = std::chrono::steady_clock::now();
  scan_summary sum;
  auto problem = [&](const std::string& line) {
    if (sum.problems_reported < opts.max_reported_problems * 4) {
      ++sum.problems_reported;
      report(line);
    } else {
      ++sum.problems_unreported;
    }
  };

  input::discovery_result found = input::discover(opts.paths);
  sum.input.add(found);
  for (const auto& p : found.problems) {
    problem(p.path + ": " + p.reason);
    ++sum.file_problems_by_reason[p.reason];
  }

  unsigned threads = opts.loader_threads;
  if (threads == 0) {
    unsigned cores = std::thread::hardware_concurrency();
    threads = cores > 1 ? cores - 1 : 1;
  }
  if (threads > found.files.size()) threads = static_cast<unsigned>(found.files.size());

  cloudtrail::record_parser parser;
  cloudtrail::parse_limits plim;
  plim.max_depth = opts.limits.max_depth;
  plim.depth_prechecked = true;  // the splitter enforces max_depth
  parser.set_limits(plim);
  dedup_window dedup(opts.dedup_window_ms);
  bool first_event = true;

  ordered_loader loader(found.files, opts.limits, threads, opts.max_files_ahead);
  for (size_t i = 0; i < found.files.size(); ++i) {
    input::loaded_file f = loader.take(i);
    sum.input.add(f);
    if (!f.fatal_error.empty()) {
      problem(f.path + ": " + f.fatal_error);
      ++sum.file_problems_by_reason[f.fatal_error.substr(0, f.fatal_error.find(':'))];
      continue;
    }
    if (f.skipped) continue;
    for (const auto& e : f.errors) {
      std::string where = e.index == input::no_record
                              ? ""
                              : "record " + std::to_string(e.index) + " ";
      problem(f.path + ": " + where + "(line " + std::to_string(e.line) + ", byte " +
              std::to_string(e.offset) + "): " + e.reason);
      ++sum.malformed_by_reason[e.reason.substr(0, e.reason.find(" after "))];
    }
    th_event ev;
    cloudtrail::parse_error err;
    for (const auto& r : f.records) {
      std::string_view raw = f.record(r);
      if (!parser.parse(raw, ev, err)) {
        ++sum.records_malformed;
        ++sum.malformed_by_reason[err.reason];
        problem(f.path + ": record " + std::to_string(r.index) + " (byte " +
                std::to_string(r.offset + err.offset) + "): " + err.reason);
        continue;
      }
      ++sum.records_parsed;
      if (dedup.seen(std::string_view(ev.event_id.ptr, ev.event_id.len), ev.event_time_ms)) {
        ++sum.records_duplicate;
        continue;
      }
      if (first_event) {
        sum.first_event_ms = sum.last_event_ms = ev.event_time_ms;
        first_event = false;
      } else {
        if (ev.event_time_ms < sum.first_event_ms) sum.first_event_ms = ev.event_time_ms;
        if (ev.event_time_ms > sum.last_event_ms) sum.last_event_ms = ev.event_time_ms;
      }
      eng.dispatch(ev);
      ++sum.records_dispatched;
    }
    parser.reset();
  }
  eng.finish();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace trailhound::pipeline
