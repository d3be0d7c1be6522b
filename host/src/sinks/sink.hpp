// SPDX-License-Identifier: Apache-2.0
// Where findings go. Every sink writes the same JSON object per finding (findings::to_json).
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "findings/finding.hpp"

namespace trailhound::sinks {

class sink {
 public:
  virtual ~sink() = default;
  virtual void write(const findings::finding& f) = 0;
  // Makes everything written so far durable (a checkpoint follows).
  virtual void flush() {}
  virtual void close() {}
  // Ids of findings this sink already holds from earlier runs (appended files), so that a
  // resumed or repeated run does not write them twice.
  virtual std::vector<std::string> existing_ids() const { return {}; }
};

// One JSON object per line. "-" writes to stdout. Each line is written whole and flushed at
// close (and every `flush_every` findings) so a killed run leaves only complete lines.
// An existing file is appended to: a partial last line (a killed run) is cut off first, and the
// ids of the findings already in it are reported by existing_ids().
class jsonl_sink final : public sink {
 public:
  explicit jsonl_sink(const std::string& path);  // throws std::runtime_error
  ~jsonl_sink() override;
  void write(const findings::finding& f) override;
  void flush() override;
  void close() override;
  std::vector<std::string> existing_ids() const override { return existing_; }

 private:
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string path_;
  std::vector<std::string> existing_;
};

// Keeps findings in memory (tests, the harness).
class memory_sink final : public sink {
 public:
  void write(const findings::finding& f) override { items.push_back(f); }
  std::vector<findings::finding> items;
};

// Parses "jsonl:PATH" / "PATH" (jsonl) into a sink.
std::unique_ptr<sink> make_sink(const std::string& spec);

}  // namespace trailhound::sinks
