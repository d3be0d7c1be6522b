// SPDX-License-Identifier: Apache-2.0
// Persistent store (SQLite) for detector state (learned baselines) and the ledger of processed
// files, per environment. Writes are transactional: a crash leaves the previous state intact.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace trailhound::state {

class state_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct stored_state {
  uint32_t schema_version = 0;
  std::string bytes;
  int64_t saved_at_event_ms = 0;  // event-time watermark of the run that saved it
};

struct ledger_entry {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string content_hash;  // hex
};

class state_store {
 public:
  // Opens (creating if needed) the store at `path`. A file that is not a usable store is moved
  // aside to "<path>.corrupt-<n>" and a fresh store is created; `warning` says so.
  static std::unique_ptr<state_store> open(const std::string& path, std::string& warning);
  ~state_store();
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;

  std::optional<stored_state> load(const std::string& environment, const std::string& instance);
  void save(const std::string& environment, const std::string& instance, const stored_state& s);
  void erase(const std::string& environment, const std::string& instance);

  // Files already processed by an earlier (possibly interrupted) run of this environment.
  bool in_ledger(const std::string& environment, const ledger_entry& e);
  void add_to_ledger(const std::string& environment, const ledger_entry& e);
  uint64_t ledger_size(const std::string& environment);

  // Groups several writes into one transaction (nested calls are flattened).
  void begin();
  void commit();
  void rollback();

  const std::string& path() const { return path_; }

 private:
  struct impl;
  explicit state_store(std::unique_ptr<impl> p, std::string path);
  std::unique_ptr<impl> impl_;
  std::string path_;
};

}  // namespace trailhound::state
