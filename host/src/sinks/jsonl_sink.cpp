// SPDX-License-Identifier: Apache-2.0
// JSON Lines findings sink.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "sinks/sink.hpp"

namespace trailhound::sinks {

namespace {

// Cuts a partial last line left by a killed run and collects the finding ids already written.
std::vector<std::string> repair_and_scan(const std::string& path) {
  std::vector<std::string> ids;
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) return ids;
  std::string line;
  long good_end = 0, pos = 0;
  int c;
  while ((c = std::fgetc(in)) != EOF) {
    ++pos;
    if (c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    good_end = pos;
    static const std::string key = "{\"finding_id\":\"";
    if (line.compare(0, key.size(), key) == 0 && line.size() >= key.size() + 32)
      ids.push_back(line.substr(key.size(), 32));
    line.clear();
  }
  std::fclose(in);
  if (good_end != pos) std::filesystem::resize_file(path, static_cast<uintmax_t>(good_end));
  return ids;
}

}  // namespace

jsonl_sink::jsonl_sink(const std::string& path) : path_(path) {
  if (path == "-" || path.empty()) {
    out_ = stdout;
  } else {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) existing_ = repair_and_scan(path);
    out_ = std::fopen(path.c_str(), "ab");
    if (!out_)
      throw std::runtime_error(path + ": cannot open for writing: " + std::strerror(errno));
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

void jsonl_sink::flush() {
  if (!out_) return;
  std::fflush(out_);
  if (owned_) ::fsync(fileno(out_));
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
