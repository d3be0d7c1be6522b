// SPDX-License-Identifier: Apache-2.0
// Scan pipeline: ordered hand-off from loader threads to the dispatching thread.
#include "pipeline/scan.hpp"

#include <malloc.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "cloudtrail/batch.hpp"
#include "pipeline/dedup.hpp"
#include "routing/router.hpp"

namespace trailhound::pipeline {
namespace {

std::string_view sv(th_str s) noexcept {
  return s.len && s.ptr ? std::string_view(s.ptr, static_cast<size_t>(s.len)) : std::string_view();
}

// The hashes of one event the dispatching thread needs, computed ahead on a loader thread.
struct event_keys {
  uint64_t id_hash;     // hash64(eventID), for the duplicate filter
  uint64_t route_hash;  // routing::route_key_hash(eventSource, eventName), for the router
};

event_keys keys_of(const th_event& ev) noexcept {
  return {hash64(std::string_view(ev.event_id.ptr, ev.event_id.len)),
          routing::route_key_hash(sv(ev.event_source), sv(ev.event_name))};
}

// Memory of the events after the one being dispatched is requested ahead: the loader threads wrote
// it on other cores, and each first read of it would wait (an event takes microseconds to
// dispatch, a load from memory a tenth of one). The event structs are requested further ahead
// than the records they point to, as prefetching those needs their pointers.
constexpr size_t prefetch_ahead = 2;
constexpr size_t prefetch_struct_ahead = 3 * prefetch_ahead;

void prefetch_struct(const th_event& ev) noexcept {
  const char* p = reinterpret_cast<const char*>(&ev);
  for (size_t off = 0; off < sizeof(th_event); off += 64) __builtin_prefetch(p + off);
}

// A parsed file as the loader threads hand it over, with the work they can do ahead for the
// dispatching thread.
struct loaded_batch {
  cloudtrail::parsed_batch batch;
  std::vector<event_keys> keys;  // one per event
  size_t bytes = 0;              // batch.memory_bytes() and keys
};

loaded_batch load_and_parse(const input::input_file& file, const input::limits& lim,
                            const cloudtrail::parse_limits& plim) {
  loaded_batch b{cloudtrail::parse_file(input::load_file(file, lim), plim), {}, 0};
  try {
    b.keys.reserve(b.batch.events.size());
    for (const th_event& ev : b.batch.events) b.keys.push_back(keys_of(ev));
  } catch (...) {
    b.keys.clear();  // out of memory: the dispatching thread hashes instead
  }
  b.bytes = b.batch.memory_bytes() + b.keys.capacity() * sizeof(event_keys);
  return b;
}

// Lowers the calling loader thread's priority a little (nice +3, needs no privilege). The
// dispatching thread is the serial stage: when it and a loader both want a core it should get
// it, or the read-ahead fills while it waits for the CPU and both loaders stand idle later (a
// core idle for about 6% of a full-pack scan, 3% with this). Failure changes nothing else.
void yield_to_dispatcher() noexcept {
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int nice_now = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(nice_now + 3, 19));
}

// Loads and parses files on worker threads; take(i) returns file i once ready, in order.
// Read-ahead is bounded by a number of files and by the bytes the parsed files waiting hold, so
// that thousands of small S3 files keep both workers busy while a huge file cannot pile up memory.
class ordered_loader {
 public:
  ordered_loader(const std::vector<input::input_file>& files, const input::limits& lim,
                 const cloudtrail::parse_limits& plim, unsigned threads, size_t ahead,
                 uint64_t bytes_ahead)
      : files_(files),
        lim_(lim),
        plim_(plim),
        ahead_(ahead < 1 ? 1 : ahead),
        bytes_ahead_(bytes_ahead),
        slots_(ahead_) {
    for (unsigned t = 0; t < threads; ++t) workers_.emplace_back([this] { work(); });
  }
  ~ordered_loader() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    space_.notify_all();
    for (auto& w : workers_) w.join();
  }

  loaded_batch take(size_t i) {
    std::unique_lock<std::mutex> lock(m_);
    waiting_for_ = i;
    std::optional<loaded_batch>& slot = slots_[i % slots_.size()];
    ready_.wait(lock, [&] { return slot.has_value(); });
    waiting_for_ = SIZE_MAX;
    loaded_batch f = std::move(*slot);
    slot.reset();
    consumed_ = i + 1;
    bytes_waiting_ -= f.bytes;
    lock.unlock();
    space_.notify_all();
    return f;
  }

 private:
  // The next file may be started: within the file window and the byte budget (the file the
  // consumer needs next is always allowed, so a single huge file cannot stall the scan).
  bool may_start() const {
    return next_ < consumed_ + ahead_ && (bytes_waiting_ <= bytes_ahead_ || next_ == consumed_);
  }

  void work() {
    pthread_setname_np(pthread_self(), "th-loader");  // for top, perf and gdb
    yield_to_dispatcher();
    while (true) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(m_);
        space_.wait(lock, [&] { return stop_ || next_ >= files_.size() || may_start(); });
        if (stop_ || next_ >= files_.size()) return;
        i = next_++;
      }
      loaded_batch f = load_and_parse(files_[i], lim_, plim_);
      bool wake;
      {
        std::lock_guard<std::mutex> lock(m_);
        bytes_waiting_ += f.bytes;
        slots_[i % slots_.size()] = std::move(f);
        wake = waiting_for_ == i;
      }
      if (wake) ready_.notify_one();
    }
  }

  const std::vector<input::input_file>& files_;
  input::limits lim_;
  cloudtrail::parse_limits plim_;
  size_t ahead_;
  uint64_t bytes_ahead_;
  // A ring: the files in flight are i in [consumed_, consumed_ + ahead_), one slot each
  // (i % ahead_), so memory does not grow with the number of files.
  std::vector<std::optional<loaded_batch>> slots_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::condition_variable ready_;  // the consumer: the file it waits for is ready
  std::condition_variable space_;  // the workers: the window moved on, or stop
  size_t next_ = 0;
  size_t consumed_ = 0;
  size_t waiting_for_ = SIZE_MAX;
  uint64_t bytes_waiting_ = 0;  // held by parsed files not yet taken
  bool stop_ = false;
};

// Resident set size of the process (0 if unknown).
uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, resident = 0;
  const bool ok = std::fscanf(f, "%llu %llu", &size, &resident) == 2;
  std::fclose(f);
  return ok ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}
constexpr uint64_t TRIM_ABOVE_RESIDENT_BYTES = uint64_t{128} << 20;

// One self-overwriting status line on a terminal, at most twice a second.
void show_progress(size_t files_done, size_t files_total, uint64_t events,
                   std::chrono::steady_clock::time_point start, bool last) {
  static std::chrono::steady_clock::time_point last_shown;
  auto now = std::chrono::steady_clock::now();
  if (!last && now - last_shown < std::chrono::milliseconds(500)) return;
  last_shown = now;
  double secs = std::chrono::duration<double>(now - start).count();
  double rate = secs > 0 ? events / secs : 0;
  double eta = files_done ? secs * (files_total - files_done) / files_done : 0;
  std::fprintf(stderr, "\r\033[Kfiles %zu/%zu  events %llu  %.0f events/s  ETA %.0f s", files_done,
               files_total, static_cast<unsigned long long>(events), rate, eta);
  if (last) std::fputc('\n', stderr);
  std::fflush(stderr);
}

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

  if (opts.skip) {
    std::vector<input::input_file> todo;
    for (auto& f : found.files) {
      if (opts.skip(f)) {
        ++sum.input.files_skipped;
        ++sum.input.skipped_by_reason["already processed"];
      } else {
        todo.push_back(std::move(f));
      }
    }
    found.files = std::move(todo);
  }
  unsigned threads = opts.loader_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads > found.files.size()) threads = static_cast<unsigned>(found.files.size());

  cloudtrail::parse_limits plim;
  plim.max_depth = opts.limits.max_depth;
  plim.depth_prechecked = true;  // the splitter enforces max_depth
  dedup_window dedup(opts.dedup_window_ms);
  uint64_t released_bytes = 0;
  bool first_event = true;
  cloudtrail::record_parser parser;  // for files too large to parse ahead
  parser.set_limits(plim);

  input::limits load_lim = opts.limits;
  load_lim.defer_split = true;  // parse_file parses clean Records files whole, without splitting
  ordered_loader loader(found.files, load_lim, plim, threads,
                        std::max<size_t>(opts.max_files_ahead, threads + 1), opts.max_bytes_ahead);
  for (size_t i = 0; i < found.files.size(); ++i) {
    // Runs however the body below ends (skipped, failed or delivered file).
    struct done_guard {
      const scan_options& o;
      const input::input_file& f;
      ~done_guard() {
        if (o.after_file) o.after_file(f);
      }
    } done{opts, found.files[i]};
    loaded_batch loaded = loader.take(i);
    const cloudtrail::parsed_batch& batch = loaded.batch;
    // Large files leave large free blocks in the loader threads' heaps, which glibc keeps; give
    // them back now and then so that peak RSS follows the files in flight, not the largest ones
    // ever seen. Only when much is resident: every page given back is faulted in again by the
    // next files (on the 1M-event tree of small files, about 80,000 page faults per scan).
    released_bytes += loaded.bytes;
    if (released_bytes > (256u << 20)) {
      released_bytes = 0;
      if (resident_bytes() > TRIM_ABOVE_RESIDENT_BYTES) malloc_trim(0);
    }
    if (opts.progress) show_progress(i + 1, found.files.size(), sum.records_parsed, t0, false);
    const input::loaded_file& f = batch.file;
    sum.input.add(f);
    if (!f.fatal_error.empty()) {
      problem(f.path + ": " + f.fatal_error);
      ++sum.file_problems_by_reason[f.fatal_error.substr(0, f.fatal_error.find(':'))];
      continue;
    }
    if (f.skipped) continue;
    for (const auto& e : f.errors) {
      std::string where =
          e.index == input::no_record ? "" : "record " + std::to_string(e.index) + " ";
      problem(f.path + ": " + where + "(line " + std::to_string(e.line) + ", byte " +
              std::to_string(e.offset) + "): " + e.reason);
      ++sum.malformed_by_reason[e.reason.substr(0, e.reason.find(" after "))];
    }
    for (const auto& fail : batch.failures) {
      ++sum.records_malformed;
      ++sum.malformed_by_reason[fail.reason];
      problem(f.path + ": record " + std::to_string(fail.index) + " (byte " +
              std::to_string(fail.offset) + "): " + fail.reason);
    }
    auto deliver = [&](const th_event& ev, const event_keys& keys) {
      if (ev.event_id.len && dedup.seen_hash(keys.id_hash, ev.event_time_ms)) {
        ++sum.records_duplicate;
        return;
      }
      if (first_event) {
        sum.first_event_ms = sum.last_event_ms = ev.event_time_ms;
        first_event = false;
      } else {
        if (ev.event_time_ms < sum.first_event_ms) sum.first_event_ms = ev.event_time_ms;
        if (ev.event_time_ms > sum.last_event_ms) sum.last_event_ms = ev.event_time_ms;
      }
      eng.dispatch(ev, keys.route_hash);
      ++sum.records_dispatched;
    };
    if (!batch.lazy) {
      sum.records_parsed += batch.events.size();
      const bool hashed = loaded.keys.size() == batch.events.size();
      const size_t n = batch.events.size();
      for (size_t k = 0; k < n; ++k) {
        if (k + prefetch_struct_ahead < n) prefetch_struct(batch.events[k + prefetch_struct_ahead]);
        if (k + prefetch_ahead < n) {
          batch.prefetch_event(k + prefetch_ahead);  // its record text and DOM
          if (hashed) dedup.prefetch(loaded.keys[k + prefetch_ahead].id_hash);
        }
        const th_event& ev = batch.events[k];
        deliver(ev, hashed ? loaded.keys[k] : keys_of(ev));
      }
      continue;
    }
    // A very large file (e.g. a big NDJSON export): parse record by record, in file order.
    th_event ev;
    cloudtrail::parse_error err;
    for (const auto& r : f.records) {
      if (!parser.parse(f.record(r), ev, err)) {
        ++sum.records_malformed;
        ++sum.malformed_by_reason[err.reason];
        problem(f.path + ": record " + std::to_string(r.index) + " (byte " +
                std::to_string(r.offset + err.offset) + "): " + err.reason);
        continue;
      }
      ++sum.records_parsed;
      deliver(ev, keys_of(ev));
    }
    parser.reset();
  }
  if (opts.progress)
    show_progress(found.files.size(), found.files.size(), sum.records_parsed, t0, true);
  eng.finish();
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace trailhound::pipeline
