// SPDX-License-Identifier: Apache-2.0
// The parsing wall: the least work any CloudTrail scanner must do on a gz tree, on one core.
// Reads every *.json.gz under the given directories, inflates it whole with libdeflate and parses
// it in situ with RapidJSON (whole document, no error isolation, no event extraction), counting
// the Records. It parses as trailhound does (cloudtrail/detail.hpp: the padded stream with the
// faster string scan), so the wall stays a wall. scripts/bench prints it next to trailhound's own
// figures.
#include <libdeflate.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cloudtrail/detail.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i)
    for (const auto& e : std::filesystem::recursive_directory_iterator(argv[i]))
      if (e.is_regular_file() && e.path().string().ends_with(".json.gz") &&
          e.path().filename().string().find("-Digest") == std::string::npos)
        files.push_back(e.path().string());
  const auto t0 = std::chrono::steady_clock::now();
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::string in, out;
  unsigned long long events = 0, bytes = 0;
  for (const std::string& path : files) {
    std::ifstream f(path, std::ios::binary);
    in.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (in.size() < 18) continue;
    const auto* s = reinterpret_cast<const unsigned char*>(in.data());
    const size_t isize = s[in.size() - 4] | s[in.size() - 3] << 8 | s[in.size() - 2] << 16 |
                         static_cast<size_t>(s[in.size() - 1]) << 24;
    out.resize(isize + trailhound::cloudtrail::detail::PARSE_PADDING);
    size_t got = 0;
    if (libdeflate_gzip_decompress(d, in.data(), in.size(), out.data(), isize, &got) !=
        LIBDEFLATE_SUCCESS)
      continue;
    out[got] = '\0';
    bytes += got;
    trailhound::cloudtrail::detail::document doc;
    trailhound::cloudtrail::detail::parse_padded<rapidjson::kParseInsituFlag>(doc, out.data());
    if (doc.HasParseError() || !doc.IsObject()) continue;
    auto r = doc.FindMember("Records");
    if (r != doc.MemberEnd() && r->value.IsArray()) events += r->value.Size();
  }
  libdeflate_free_decompressor(d);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%llu events %llu bytes %.3f s %.0f events/s\n", events, bytes, secs, events / secs);
}
