// SPDX-License-Identifier: Apache-2.0
// JSON Lines findings sink.
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sinks/sink.hpp"

namespace trailhound::sinks {

jsonl_sink::jsonl_sink(const std::string& path) : path_(path) {
  if (path == "-" || path.empty()) {
    out_ = stdout;
  } else {
    out_ = std::fopen(path.c_str(), "ab");
    if (!out_) throw std::runtime_error(path + ": cannot open for writing: " + std::strerror(errno));
    owned_ = true;
  }
}

jsonl_sink::~jsonl_sink() { close(); }

void jsonl_sink::write(const findings::finding& f) {
  if (!out_) return;
  std::string line = findings::to_json(f);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), out_);
}

void jsonl_sink::close() {
  if (!out_) return;
  std::fflush(out_);
  if (owned_) std::fclose(out_);
  out_ = nullptr;
}

std::unique_ptr<sink> make_sink(const std::string& spec) {
  std::string kind = "jsonl", target = spec;
  if (auto colon = spec.find(':'); colon != std::string::npos) {
    kind = spec.substr(0, colon);
    target = spec.substr(colon + 1);
  }
  if (kind == "jsonl") return std::make_unique<jsonl_sink>(target);
  throw std::runtime_error("unknown output kind '" + kind + "' in '" + spec +
                           "' (supported: jsonl:PATH, jsonl:-)");
}

}  // namespace trailhound::sinks
