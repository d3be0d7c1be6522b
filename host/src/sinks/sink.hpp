// SPDX-License-Identifier: Apache-2.0
// Where findings go. Every sink writes the same JSON object per finding (findings::to_json).
#pragma once

#include "findings/finding.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace trailhound::sinks {

class sink {
 public:
  virtual ~sink() = default;
  virtual void write(const findings::finding& f) = 0;
  virtual void close() {}
};

// One JSON object per line. "-" writes to stdout. Each line is written whole and flushed at
// close (and every `flush_every` findings) so a killed run leaves only complete lines.
class jsonl_sink final : public sink {
 public:
  explicit jsonl_sink(const std::string& path);  // throws std::runtime_error
  ~jsonl_sink() override;
  void write(const findings::finding& f) override;
  void close() override;

 private:
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string path_;
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
