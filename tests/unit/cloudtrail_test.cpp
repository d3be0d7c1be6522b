// SPDX-License-Identifier: Apache-2.0
// Record parsing: the ASCII fast path gives the same verdicts as the validating parse.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "cloudtrail/batch.hpp"
#include "cloudtrail/detail.hpp"
#include "cloudtrail/record_parser.hpp"
#include "input/input.hpp"

namespace {

using namespace trailhound;

std::string record(int i, const std::string& user_agent) {
  return "{\"eventVersion\":\"1.09\",\"eventTime\":\"2026-11-20T10:00:0" + std::to_string(i) +
         "Z\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"DescribeInstances\","
         "\"userAgent\":\"" +
         user_agent + "\",\"eventID\":\"e-" + std::to_string(i) + "\"}";
}

TEST(cloudtrail_parse, plain_ascii_is_exactly_ascii_without_0x1a_to_0x1f) {
  for (size_t len : {1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 70, 128, 131}) {
    for (size_t pos : {size_t{0}, len / 2, len - 1}) {
      for (int b = 0; b < 256; ++b) {
        std::string text(len, 'a');
        text[pos] = static_cast<char>(b);
        const bool expected = b < 0x80 && !(b >= 0x1A && b <= 0x1F);
        EXPECT_EQ(cloudtrail::detail::plain_ascii(text), expected)
            << "len " << len << " pos " << pos << " byte " << b;
      }
    }
  }
  EXPECT_TRUE(cloudtrail::detail::plain_ascii(""));
  // Newlines and tabs make a block take the exact test, which still finds a 0x1A..0x1F byte.
  std::string lines(256, 'a');
  for (size_t i = 10; i < lines.size(); i += 50) lines[i] = '\n';
  lines[70] = '\t';
  EXPECT_TRUE(cloudtrail::detail::plain_ascii(lines));
  lines[75] = '\x1c';
  EXPECT_FALSE(cloudtrail::detail::plain_ascii(lines));
}

// Regression (found by tests/fuzz/fuzz_records): a raw control byte 0x1A..0x1F in a string was
// accepted by the fast path (RapidJSON's SSE2 scan misses it) and rejected by the validating
// parse, so the same record was kept or dropped depending on the rest of the file (one non-ASCII
// byte anywhere) and on the parser (whole-file batch or record by record).
TEST(cloudtrail_parse, raw_control_bytes_in_strings_are_rejected_whatever_the_rest_of_the_file) {
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\n') continue;  // the splitter rejects a raw newline in a string itself
    // 20 bytes before it: past the scalar head of the SSE2 scan, in its 16-byte blocks.
    const std::string bad =
        record(1, std::string("aws-cli/2.15.30 Pyth") + static_cast<char>(c) + "on/3.11");
    for (const std::string& other : {std::string("plain"), std::string("caf\xc3\xa9")}) {
      SCOPED_TRACE("byte " + std::to_string(c) + ", other agent " + other);
      const std::string text =
          "{\"Records\":[" + record(0, "x") + "," + bad + "," + record(2, other) + "]}";
      input::loaded_file f = input::load_buffer("t.json", text);
      ASSERT_EQ(f.records.size(), 3u);

      cloudtrail::record_parser parser;
      th_event ev;
      cloudtrail::parse_error err;
      EXPECT_TRUE(parser.parse(f.record(f.records[0]), ev, err)) << err.reason;
      EXPECT_FALSE(parser.parse(f.record(f.records[1]), ev, err));
      EXPECT_TRUE(parser.parse(f.record(f.records[2]), ev, err)) << err.reason;

      cloudtrail::parse_limits lim;
      const cloudtrail::parsed_batch b = cloudtrail::parse_file(std::move(f), lim);
      ASSERT_EQ(b.failures.size(), 1u);
      EXPECT_EQ(b.failures[0].index, 1u);
      EXPECT_EQ(b.events.size(), 2u);
    }
  }
}

std::string_view view(th_str s) { return {s.ptr, s.len}; }

// padded_stream.hpp's string scan (16-byte loads from any position) on every combination of
// string length and escape position around its block boundaries, in both ways of parsing a
// file: each userAgent must decode to exactly what the escapes say.
TEST(cloudtrail_parse, string_scan_decodes_escapes_at_every_position) {
  const std::pair<std::string, std::string> escapes[] = {
      {"\\\"", "\""}, {"\\\\", "\\"},          {"\\/", "/"},
      {"\\n", "\n"},  {"\\u00e9", "\xc3\xa9"}, {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"}};
  for (size_t len = 0; len <= 40; ++len) {
    for (size_t pos = 0; pos <= len; ++pos) {
      for (const auto& [escaped, decoded] : escapes) {
        std::string json_text, expected;
        for (size_t i = 0; i < len; ++i) {
          if (i == pos) json_text += escaped, expected += decoded;
          const char c = static_cast<char>('a' + i % 26);
          json_text += c, expected += c;
        }
        if (pos == len) json_text += escaped, expected += decoded;
        SCOPED_TRACE("length " + std::to_string(len) + ", escape " + escaped + " at " +
                     std::to_string(pos));
        const std::string raw = record(1, json_text);

        cloudtrail::record_parser parser;
        th_event ev;
        cloudtrail::parse_error err;
        ASSERT_TRUE(parser.parse(raw, ev, err)) << err.reason;
        EXPECT_EQ(view(ev.user_agent), expected);
        EXPECT_EQ(view(ev.event_name), "DescribeInstances");  // the member after it is intact

        const std::string file = "{\"Records\":[" + record(0, "x") + "," + raw + "]}";
        const cloudtrail::parsed_batch b =
            cloudtrail::parse_file(input::load_buffer("t.json", file), cloudtrail::parse_limits{});
        ASSERT_EQ(b.events.size(), 2u);
        EXPECT_EQ(view(b.events[1].user_agent), expected);
        EXPECT_EQ(view(b.events[1].event_id), "e-1");
      }
    }
  }
}

// Every raw control byte at every position of a string around the scan's 16-byte blocks is
// rejected, as JSON requires (RapidJSON's own SSE2 scan missed 0x1A..0x1F).
TEST(cloudtrail_parse, raw_control_bytes_are_rejected_at_every_position) {
  for (int c = 1; c < 0x20; ++c) {
    for (size_t pos = 0; pos < 40; ++pos) {
      std::string agent(40, 'u');
      agent[pos] = static_cast<char>(c);
      cloudtrail::record_parser parser;
      th_event ev;
      cloudtrail::parse_error err;
      EXPECT_FALSE(parser.parse(record(1, agent), ev, err)) << "byte " << c << " at " << pos;
    }
  }
}

}  // namespace
