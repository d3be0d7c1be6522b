// SPDX-License-Identifier: Apache-2.0
// Input layer: discovery and ordering, gzip handling and salvage, formats, splitter robustness.
#include "input/input.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "input/detail.hpp"

namespace fs = std::filesystem;
using namespace trailhound::input;

namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

// A fresh directory per test under TRAILHOUND_TEST_TMP (set by ctest) or the system temp dir.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("TRAILHOUND_TEST_TMP");
    const fs::path root = base && *base ? fs::path(base) : fs::temp_directory_path();
    path_ = root / ("input_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& rel, const std::string& bytes) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
    return p.string();
  }
  // Writes `bytes` gzip-compressed with zlib's gzopen/gzwrite.
  std::string write_gz(const std::string& rel, const std::string& bytes) const {
    const fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    gzFile gz = gzopen(p.c_str(), "wb6");
    EXPECT_NE(gz, nullptr);
    if (!bytes.empty()) {
      EXPECT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
                static_cast<int>(bytes.size()));
    }
    gzclose(gz);
    return p.string();
  }
  std::string path(const std::string& rel = "") const {
    return rel.empty() ? path_.string() : (path_ / rel).string();
  }

 private:
  fs::path path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// gzip of `bytes` as a std::string (via a file written with gzwrite).
std::string gzip_bytes(const temp_dir& dir, const std::string& bytes) {
  static std::atomic<int> n{0};
  return read_bytes(dir.write_gz("gz_tmp_" + std::to_string(n++) + ".gz", bytes));
}

// A realistic CloudTrail record (~1.5 KB) whose eventID encodes `i`.
std::string make_event(int i, const char* event_name = "DescribeInstances") {
  char buf[4096];
  std::snprintf(
      buf, sizeof buf,
      R"({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:user%d",)"
      R"("arn":"arn:aws:sts::111122223333:assumed-role/Admin/user%d","accountId":"111122223333",)"
      R"("accessKeyId":"ASIAEXAMPLE%05d","sessionContext":{"sessionIssuer":{"type":"Role",)"
      R"("principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::111122223333:role/Admin",)"
      R"("accountId":"111122223333","userName":"Admin"},"webIdFederationData":{},)"
      R"("attributes":{"creationDate":"2026-11-20T00:00:00Z","mfaAuthenticated":"false"}}},)"
      R"("eventTime":"2026-11-20T00:%02d:%02dZ","eventSource":"ec2.amazonaws.com","eventName":"%s",)"
      R"("awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"aws-cli/2.15.0 )"
      R"(Python/3.11.6 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/ec2.describe-instances",)"
      R"("requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"tag:env",)"
      R"("valueSet":{"items":[{"value":"prod"}]}}]},"maxResults":1000,"dryRun":false,)"
      R"("policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",)"
      R"(\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::bucket/*\"}]}"},)"
      R"("responseElements":null,"requestID":"%08x-1111-2222-3333-444455556666",)"
      R"("eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":true,"eventType":"AwsApiCall",)"
      R"("managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management",)"
      R"("tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256",)"
      R"("clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}})",
      i, i, i % 100000, (i / 60) % 60, i % 60, event_name, i % 256, i, i);
  return buf;
}

std::string records_file(int n, int first = 0) {
  std::string s = R"({"Records":[)";
  for (int i = first; i < first + n; ++i) {
    if (i != first) s += ',';
    s += make_event(i);
  }
  s += "]}";
  return s;
}

std::string ndjson_file(int n, const std::string& eol = "\n") {
  std::string s;
  for (int i = 0; i < n; ++i) s += make_event(i) + eol;
  return s;
}

// The i of make_event(i) for a record, or -1.
int event_no(std::string_view rec) {
  const size_t at = rec.find(R"("eventID":")");
  if (at == std::string_view::npos || at + 19 > rec.size()) return -1;
  return static_cast<int>(std::strtoul(std::string(rec.substr(at + 11, 8)).c_str(), nullptr, 16));
}

// Event numbers of the records that are exactly make_event(i).
std::vector<int> intact_events(const loaded_file& f) {
  std::vector<int> out;
  for (const record_ref& r : f.records) {
    const std::string_view rec = f.record(r);
    const int i = event_no(rec);
    if (i >= 0 && rec == make_event(i)) out.push_back(i);
  }
  return out;
}

std::vector<int> range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

std::vector<int> all_but(int n, std::initializer_list<int> except) {
  std::vector<int> v;
  for (int i = 0; i < n; ++i)
    if (std::find(except.begin(), except.end(), i) == except.end()) v.push_back(i);
  return v;
}

std::string reasons(const loaded_file& f) {
  std::string s;
  for (const record_error& e : f.errors)
    s += "[" + (e.index == no_record ? std::string("-") : std::to_string(e.index)) + " @" +
         std::to_string(e.offset) + " l" + std::to_string(e.line) + "] " + e.reason + "\n";
  return s;
}

bool has_error(const loaded_file& f, std::string_view needle) {
  for (const record_error& e : f.errors)
    if (e.reason.find(needle) != std::string::npos) return true;
  return false;
}

loaded_file load(const std::string& path, const limits& lim = {}) {
  return load_file(input_file{path, 0, {}}, lim);
}

loaded_file load_text(const std::string& text, const limits& lim = {}) {
  return load_buffer("mem", text, lim);
}

// Every record_ref is a '{'...'}' range inside text, indexes strictly increase.
void expect_well_formed_refs(const loaded_file& f) {
  int64_t last = -1;
  for (const record_ref& r : f.records) {
    ASSERT_LE(r.offset + r.length, f.text.size());
    ASSERT_GE(r.length, 2u);
    EXPECT_EQ(f.text[r.offset], '{');
    EXPECT_EQ(f.text[r.offset + r.length - 1], '}');
    EXPECT_GT(static_cast<int64_t>(r.index), last);
    last = r.index;
  }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Formats, plain and gzipped

TEST(input_formats, cloudtrail_records_plain_and_gzip) {
  temp_dir dir;
  const std::string text = records_file(5);
  for (const std::string& path :
       {dir.write("a.json", text), dir.write_gz("111122223333_CloudTrail_us-east-1_"
                                                "20261120T0005Z_AbCd.json.gz",
                                                text)}) {
    const loaded_file f = load(path);
    EXPECT_TRUE(f.fatal_error.empty()) << f.fatal_error;
    EXPECT_FALSE(f.skipped);
    EXPECT_EQ(f.format, file_format::cloudtrail);
    EXPECT_STREQ(f.format_name(), "cloudtrail");
    EXPECT_EQ(intact_events(f), range(0, 5));
    EXPECT_TRUE(f.errors.empty()) << reasons(f);
    for (uint32_t i = 0; i < f.records.size(); ++i) EXPECT_EQ(f.records[i].index, i);
    EXPECT_EQ(f.decompressed_bytes, text.size());
    EXPECT_EQ(f.gzip, path.ends_with(".gz"));
    if (f.gzip) {
      EXPECT_LT(f.compressed_bytes, f.decompressed_bytes);
    } else {
      EXPECT_EQ(f.compressed_bytes, text.size());
    }
  }
}

TEST(input_formats, records_member_in_any_order_with_whitespace) {
  const std::string text =
      "\n{ \"Other\" : {\"x\":[1,2.5e3,{\"Records\":[]},\"]}\"]},\n \"Records\"\t:\r\n[\n  " +
      make_event(0) + " ,\n\t" + make_event(1) + "\n ] , \"After\": [true, false, null] }\n";
  const loaded_file f = load_text(text);
  EXPECT_EQ(f.format, file_format::cloudtrail);
  EXPECT_EQ(intact_events(f), range(0, 2));
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
}

TEST(input_formats, empty_records_array_is_read_with_no_records) {
  const loaded_file f = load_text(R"({"Records":[]})");
  EXPECT_EQ(f.format, file_format::cloudtrail);
  EXPECT_FALSE(f.skipped);
  EXPECT_TRUE(f.records.empty());
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
  EXPECT_TRUE(f.fatal_error.empty());
}

TEST(input_formats, concatenated_records_objects) {
  const loaded_file f = load_text(records_file(2) + "\n" + records_file(3, 2));
  EXPECT_EQ(f.format, file_format::cloudtrail);
  EXPECT_EQ(intact_events(f), range(0, 5));
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
}

TEST(input_formats, ndjson_plain_and_gzip) {
  temp_dir dir;
  const std::string text = ndjson_file(4);
  for (const std::string& path : {dir.write("a.ndjson", text), dir.write_gz("a.ndjson.gz", text)}) {
    const loaded_file f = load(path);
    EXPECT_EQ(f.format, file_format::ndjson);
    EXPECT_EQ(intact_events(f), range(0, 4));
    EXPECT_TRUE(f.errors.empty()) << reasons(f);
  }
}

TEST(input_formats, ndjson_bom_crlf_blank_lines_and_bad_lines) {
  temp_dir dir;
  const std::string text = "\xEF\xBB\xBF" + make_event(0) + "\r\n\r\n" + make_event(1) +
                           "\r\n[1,2]\r\n   \r\n" + make_event(2) + "\r\ngarbage line\r\n" +
                           make_event(3) + "\r\n";
  for (const std::string& path : {dir.write("b.json", text), dir.write_gz("b.json.gz", text)}) {
    const loaded_file f = load(path);
    EXPECT_EQ(f.format, file_format::ndjson);
    EXPECT_EQ(intact_events(f), range(0, 4));
    ASSERT_EQ(f.errors.size(), 2u) << reasons(f);
    EXPECT_EQ(f.errors[0].reason, "line is not a JSON object");
    EXPECT_EQ(f.errors[0].line, 4u);
    EXPECT_EQ(f.errors[0].index, 2u);
    EXPECT_EQ(f.errors[1].line, 7u);
    EXPECT_EQ(f.errors[1].index, 4u);
    EXPECT_EQ(f.records[2].index, 3u);
  }
}

TEST(input_formats, single_event_object_is_one_record) {
  const loaded_file f = load_text(make_event(7));
  EXPECT_EQ(f.format, file_format::ndjson);
  EXPECT_EQ(intact_events(f), std::vector<int>{7});
}

TEST(input_formats, pretty_printed_object_stream) {
  // What `jq '.Records[]' file.json` prints: multi-line objects one after another.
  const std::string text =
      "{\n  \"eventVersion\": \"1.08\",\n  \"eventName\": \"A\",\n  \"userIdentity\": {\n"
      "    \"type\": \"Root\"\n  },\n  \"resources\": [\n    {\n      \"ARN\": \"x\"\n    }\n  "
      "]\n}\n"
      "{\n  \"eventVersion\": \"1.08\",\n  \"eventName\": \"B\"\n}\n";
  const loaded_file f = load_text(text);
  EXPECT_EQ(f.format, file_format::ndjson);
  ASSERT_EQ(f.records.size(), 2u) << reasons(f);
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
  EXPECT_NE(f.record(f.records[0]).find("\"A\""), std::string::npos);
  EXPECT_EQ(f.record(f.records[1]), "{\n  \"eventVersion\": \"1.08\",\n  \"eventName\": \"B\"\n}");
}

TEST(input_formats, json_array_plain_and_gzip) {
  temp_dir dir;
  std::string text = "[\n";
  for (int i = 0; i < 3; ++i) text += (i ? ",\n  " : "  ") + make_event(i);
  text += "\n]\n";
  for (const std::string& path : {dir.write("c.json", text), dir.write_gz("c.json.gz", text)}) {
    const loaded_file f = load(path);
    EXPECT_EQ(f.format, file_format::json_array);
    EXPECT_STREQ(f.format_name(), "json-array");
    EXPECT_EQ(intact_events(f), range(0, 3));
    EXPECT_TRUE(f.errors.empty()) << reasons(f);
  }
  EXPECT_TRUE(load_text("[]").records.empty());
  EXPECT_TRUE(load_text("[]").errors.empty());
}

// JSON string literal (with quotes) holding `s`, as the AWS CLI writes CloudTrailEvent.
std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '/') {
      out += "\\/";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

TEST(input_formats, lookup_events_plain_and_gzip) {
  temp_dir dir;
  std::string text = "{\n    \"Events\": [\n";
  for (int i = 0; i < 3; ++i) {
    text += "        {\n            \"EventId\": \"e" + std::to_string(i) +
            "\",\n            \"EventName\": \"DescribeInstances\",\n            \"ReadOnly\": "
            "\"true\",\n            \"Resources\": [],\n            \"CloudTrailEvent\": " +
            json_quote(make_event(i)) + "\n        },\n";
  }
  // Not a string: an error for that element only.
  text += R"(        {"EventId": "bad", "CloudTrailEvent": {"eventVersion": "1.08"}},)";
  // \u escapes, a surrogate pair and a lone surrogate.
  text += R"({"EventId": "u", "CloudTrailEvent": "{\"eventVersion\":\"1.08\",\"userName\":)"
          R"(\"Ren\u00e9 \ud83d\ude00 \u4e2d \ud800x\",\"a\":\"q\\\"\\\\\\n\"}"},)";
  text += R"({"EventId": "none"})";
  text += "\n    ],\n    \"NextToken\": \"abc\"\n}\n";
  for (const std::string& path : {dir.write("l.json", text), dir.write_gz("l.json.gz", text)}) {
    const loaded_file f = load(path);
    EXPECT_EQ(f.format, file_format::lookup_events);
    EXPECT_STREQ(f.format_name(), "lookup-events");
    ASSERT_EQ(f.records.size(), 4u) << reasons(f);
    EXPECT_EQ(intact_events(f), range(0, 3));
    for (const record_ref& r : f.records) EXPECT_GE(r.offset, f.decompressed_bytes);
    EXPECT_EQ(f.record(f.records[3]),
              "{\"eventVersion\":\"1.08\",\"userName\":\"Ren\xC3\xA9 \xF0\x9F\x98\x80 "
              "\xE4\xB8\xAD \xEF\xBF\xBDx\",\"a\":\"q\\\"\\\\\\n\"}");
    EXPECT_EQ(f.records[3].index, 4u);
    ASSERT_EQ(f.errors.size(), 2u) << reasons(f);
    EXPECT_EQ(f.errors[0].reason, "CloudTrailEvent is not a string");
    EXPECT_EQ(f.errors[0].index, 3u);
    EXPECT_EQ(f.errors[1].reason, "Events element has no CloudTrailEvent");
    EXPECT_EQ(f.errors[1].index, 5u);
    // The original content is untouched.
    EXPECT_EQ(f.text.substr(0, f.decompressed_bytes), text);
  }
}

TEST(input_formats, lookup_events_elements_as_array) {
  // `aws cloudtrail lookup-events --query Events`
  std::string text = "[\n";
  for (int i = 0; i < 3; ++i) {
    text += std::string(i ? ",\n" : "") +
            "  {\"EventId\": \"e\", \"CloudTrailEvent\": " + json_quote(make_event(i)) + "}";
  }
  const loaded_file f = load_text(text + "\n]\n");
  EXPECT_EQ(f.format, file_format::lookup_events);
  EXPECT_EQ(intact_events(f), range(0, 3));
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
}

TEST(input_formats, lookup_events_elements_one_per_line) {
  // `aws cloudtrail lookup-events | jq -c '.Events[]'`
  std::string text;
  for (int i = 0; i < 3; ++i)
    text += "{\"EventId\":\"e\",\"CloudTrailEvent\":" + json_quote(make_event(i)) + "}\n";
  const loaded_file f = load_text(text);
  EXPECT_EQ(f.format, file_format::lookup_events);
  EXPECT_EQ(intact_events(f), range(0, 3));
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
}

TEST(input_formats, digest_file_is_skipped_by_content) {
  const std::string digest =
      R"({"awsAccountId":"111122223333","digestStartTime":"2026-11-20T00:00:00Z",)"
      R"("digestEndTime":"2026-11-20T01:00:00Z","digestS3Bucket":"b","digestS3Object":"o",)"
      R"("digestPublicKeyFingerprint":"f","digestSignatureAlgorithm":"SHA256withRSA",)"
      R"("newestEventTime":"2026-11-20T00:59:59Z","previousDigestS3Bucket":"b",)"
      R"("logFiles":[{"s3Bucket":"b","s3Object":"k","hashValue":"h","hashAlgorithm":"SHA-256"}]})";
  const loaded_file f = load_text(digest);
  EXPECT_TRUE(f.skipped);
  EXPECT_EQ(f.skip_reason, "digest");
  EXPECT_EQ(f.format, file_format::digest);
  EXPECT_TRUE(f.records.empty());
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
}

TEST(input_formats, insights_file_is_skipped_by_content) {
  const std::string insight =
      R"({"Records":[{"eventVersion":"1.08","eventTime":"2026-11-20T00:00:00Z",)"
      R"("awsRegion":"us-east-1","eventID":"x","eventType":"AwsCloudTrailInsight",)"
      R"("recipientAccountId":"111122223333","sharedEventID":"y","insightDetails":{},)"
      R"("eventCategory" : "Insight"},{"eventVersion":"1.08"}]})";
  const loaded_file f = load_text(insight);
  EXPECT_TRUE(f.skipped);
  EXPECT_EQ(f.skip_reason, "insights");
  EXPECT_EQ(f.format, file_format::insights);
  EXPECT_TRUE(f.records.empty());
}

TEST(input_formats, not_a_cloudtrail_log) {
  loaded_file f = load_text(R"({"foo": 1, "bar": [1, 2]})");
  EXPECT_TRUE(f.records.empty());
  EXPECT_TRUE(has_error(f, "not a CloudTrail log (no Records)")) << reasons(f);
  EXPECT_FALSE(f.skipped);
  f = load_text("hello, world\nthis is text\n");
  EXPECT_TRUE(has_error(f, "not a CloudTrail log (not JSON)")) << reasons(f);
  f = load_text(R"({"Records": 42})");
  EXPECT_TRUE(has_error(f, "Records is not an array")) << reasons(f);
}

TEST(input_formats, empty_files_are_skipped) {
  temp_dir dir;
  for (const std::string& path : {dir.write("e.json", ""), dir.write_gz("e.json.gz", ""),
                                  dir.write("ws.json", " \r\n\t\n")}) {
    const loaded_file f = load(path);
    EXPECT_TRUE(f.skipped) << path;
    EXPECT_EQ(f.skip_reason, "empty");
    EXPECT_TRUE(f.fatal_error.empty());
    EXPECT_TRUE(f.errors.empty()) << reasons(f);
  }
}

TEST(input_formats, content_decides_not_the_name) {
  temp_dir dir;
  const std::string text = records_file(2);
  const loaded_file plain = load(dir.write("plain.json.gz", text));
  EXPECT_FALSE(plain.gzip);
  EXPECT_EQ(intact_events(plain), range(0, 2));
  const loaded_file gz = load(dir.write_gz("really_gzip.json", text));
  EXPECT_TRUE(gz.gzip);
  EXPECT_EQ(intact_events(gz), range(0, 2));
}

// ---------------------------------------------------------------------------------------------
// Gzip

TEST(input_gzip, multi_member) {
  temp_dir dir;
  const std::string both = gzip_bytes(dir, records_file(2)) + gzip_bytes(dir, records_file(3, 2));
  const loaded_file f = load(dir.write("multi.json.gz", both));
  EXPECT_TRUE(f.gzip);
  EXPECT_EQ(intact_events(f), range(0, 5));
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
  // NDJSON split across members, the member boundary in the middle of a record.
  const std::string nd = ndjson_file(6);
  const std::string split = gzip_bytes(dir, nd.substr(0, 3000)) + gzip_bytes(dir, nd.substr(3000));
  const loaded_file g = load_buffer("mem", split);
  EXPECT_EQ(intact_events(g), range(0, 6));
  EXPECT_TRUE(g.errors.empty()) << reasons(g);
}

TEST(input_gzip, truncated_gzip_salvages_complete_records) {
  temp_dir dir;
  const int n = 3000;
  const std::string gz = gzip_bytes(dir, records_file(n));
  const loaded_file f = load(dir.write("trunc.json.gz", gz.substr(0, gz.size() / 2)));
  EXPECT_TRUE(f.fatal_error.empty()) << f.fatal_error;
  EXPECT_TRUE(
      has_error(f, "truncated or corrupt gzip after " + std::to_string(f.text.size()) + " bytes"))
      << reasons(f);
  EXPECT_TRUE(has_error(f, "truncated record")) << reasons(f);
  const std::vector<int> got = intact_events(f);
  ASSERT_GT(got.size(), 100u);
  EXPECT_LT(got.size(), static_cast<size_t>(n));
  EXPECT_EQ(got, range(0, static_cast<int>(got.size())));
  EXPECT_EQ(f.records.size(), got.size());
  // The partial record is the one right after the last complete one.
  for (const record_error& e : f.errors) {
    if (e.reason == "truncated record") {
      EXPECT_EQ(e.index, got.size());
    }
  }
}

TEST(input_gzip, corrupt_gzip_keeps_the_prefix) {
  temp_dir dir;
  std::string gz = gzip_bytes(dir, records_file(2000));
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i)
    gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  const loaded_file f = load_buffer("mem", gz);
  EXPECT_TRUE(f.fatal_error.empty()) << f.fatal_error;
  EXPECT_TRUE(has_error(f, "truncated or corrupt gzip after")) << reasons(f);
  const std::vector<int> got = intact_events(f);
  ASSERT_GT(got.size(), 100u);
  EXPECT_EQ(got, range(0, static_cast<int>(got.size())));
  expect_well_formed_refs(f);
}

TEST(input_gzip, header_only_and_garbage) {
  temp_dir dir;
  // Gzip magic then nothing usable: an error, no records, not fatal, not "empty".
  const loaded_file magic = load_buffer("mem", std::string("\x1f\x8b\x08\x00", 4));
  EXPECT_TRUE(magic.gzip);
  EXPECT_TRUE(has_error(magic, "truncated or corrupt gzip after 0 bytes")) << reasons(magic);
  EXPECT_FALSE(magic.skipped);
  // Gzip of garbage inflates fine; the splitter says it is not a log.
  std::string garbage;
  std::mt19937 rng(42);
  for (int i = 0; i < 100000; ++i) garbage += static_cast<char>(rng() & 0xff);
  garbage[0] = 'x';
  const loaded_file g = load(dir.write_gz("garbage.json.gz", garbage));
  EXPECT_TRUE(g.gzip);
  EXPECT_TRUE(g.fatal_error.empty());
  EXPECT_TRUE(g.records.empty());
  EXPECT_TRUE(has_error(g, "not a CloudTrail log")) << reasons(g);
}

TEST(input_gzip, trailing_bytes_after_gzip) {
  temp_dir dir;
  const std::string gz = gzip_bytes(dir, records_file(2));
  const loaded_file zeros = load_buffer("mem", gz + std::string(100, '\0'));
  EXPECT_EQ(intact_events(zeros), range(0, 2));
  EXPECT_TRUE(zeros.errors.empty()) << reasons(zeros);
  const loaded_file junk = load_buffer("mem", gz + "junk");
  EXPECT_EQ(intact_events(junk), range(0, 2));
  EXPECT_TRUE(has_error(junk, "ignored 4 bytes after the gzip data")) << reasons(junk);
}

TEST(input_gzip, max_file_bytes) {
  temp_dir dir;
  limits lim;
  lim.max_file_bytes = 100000;
  const std::string text = records_file(200);  // ~300 KB
  const loaded_file gz = load(dir.write_gz("big.json.gz", text), lim);
  EXPECT_EQ(gz.fatal_error, "decompressed size exceeds max_file_bytes");
  EXPECT_TRUE(gz.records.empty());
  const loaded_file plain = load(dir.write("big.json", text), lim);
  EXPECT_EQ(plain.fatal_error, "file larger than max_file_bytes");
  // A multi-member file whose last ISIZE under-states the total still inflates completely.
  const std::string multi = gzip_bytes(dir, records_file(300)) + gzip_bytes(dir, "\n");
  EXPECT_EQ(intact_events(load_buffer("mem", multi)), range(0, 300));
}

TEST(input_gzip, concurrent_loads) {
  temp_dir dir;
  const std::string path = dir.write_gz("c.json.gz", records_file(500));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int k = 0; k < 10; ++k) {
        const loaded_file f = load(path);
        if (f.records.size() == 500 && f.errors.empty() && intact_events(f).size() == 500) ++good;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 40);
}

// ---------------------------------------------------------------------------------------------
// Splitter robustness

struct damage_case {
  const char* name;
  std::string text;
  std::vector<int> expected;  // intact events after splitting
};

// Replaces the first occurrence of `what` inside event `i` of a Records file of n events.
std::string damage(int n, int i, const std::string& what, const std::string& with) {
  std::string s = R"({"Records":[)";
  for (int k = 0; k < n; ++k) {
    if (k) s += ',';
    std::string e = make_event(k);
    if (k == i) {
      const size_t at = e.find(what);
      EXPECT_NE(at, std::string::npos) << what;
      e.replace(at, what.size(), with);
    }
    s += e;
  }
  return s + "]}";
}

TEST(input_splitter, one_bad_record_does_not_lose_the_others) {
  const int n = 8;
  std::vector<damage_case> cases = {
      {"bad literal", damage(n, 3, "true", "yes"), all_but(n, {3})},
      {"unbalanced quote", damage(n, 3, R"("eventTime":")", R"("eventTime":)"), all_but(n, {3})},
      {"quote too many", damage(n, 3, R"("awsRegion")", R"("aws"Region")"), all_but(n, {3})},
      {"missing closing brace", damage(n, 3, R"("userName":"Admin"})", R"("userName":"Admin")"),
       all_but(n, {3})},
      {"missing last brace", damage(n, 3, R"(.amazonaws.com"}})", R"(.amazonaws.com"})"),
       all_but(n, {3})},
      {"extra closing brace",
       damage(n, 3, R"("webIdFederationData":{})", R"("webIdFederationData":{}})"),
       all_but(n, {3})},
      {"mismatched bracket", damage(n, 3, R"("prod"}]})", R"("prod"}}})"), all_but(n, {3})},
      {"raw newline in string", damage(n, 3, "Linux/6.1.0", "Linux/\n6.1.0"), all_but(n, {3})},
      {"NUL outside string", damage(n, 3, R"("readOnly":true)", std::string("\"readOnly\":\0", 12)),
       all_but(n, {3})},
      {"first record broken", damage(n, 0, R"("eventTime":")", R"("eventTime":)"), all_but(n, {0})},
      {"last record broken", damage(n, n - 1, "true", "yes"), all_but(n, {n - 1})},
  };
  // Between records.
  {
    std::string s = records_file(n);
    const std::string e3 = make_event(3);
    const size_t at = s.find(e3);
    cases.push_back({"stray token", s.substr(0, at) + "garbage, " + s.substr(at), range(0, n)});
    cases.push_back({"stray bytes", s.substr(0, at - 1) + "}}} " + s.substr(at - 1), range(0, n)});
    cases.push_back({"missing comma", s.substr(0, at - 1) + " " + s.substr(at), range(0, n)});
    cases.push_back({"double comma", s.substr(0, at) + "," + s.substr(at), range(0, n)});
    cases.push_back({"number element", s.substr(0, at) + "42, " + s.substr(at), range(0, n)});
    cases.push_back({"string element", s.substr(0, at) + "\"x\", " + s.substr(at), range(0, n)});
  }
  for (const damage_case& c : cases) {
    SCOPED_TRACE(c.name);
    const loaded_file f = load_text(c.text);
    EXPECT_EQ(intact_events(f), c.expected) << reasons(f);
    EXPECT_FALSE(f.errors.empty());
    expect_well_formed_refs(f);
    for (const record_error& e : f.errors) EXPECT_FALSE(e.reason.empty());
  }
}

TEST(input_splitter, damaged_wrapper) {
  const std::string body = records_file(3).substr(std::string(R"({"Records":)").size());
  // A damaged member name in front of the records.
  loaded_file f = load_text(R"({"Rec0rds":)" + body);
  EXPECT_EQ(f.format, file_format::cloudtrail);
  EXPECT_EQ(intact_events(f), range(0, 3));
  EXPECT_TRUE(has_error(f, R"(member "Rec0rds" holds CloudTrail records)")) << reasons(f);
  // A broken member before "Records".
  f = load_text(R"({"x": @, "Records":)" + body);
  EXPECT_EQ(intact_events(f), range(0, 3));
  EXPECT_TRUE(has_error(f, "malformed top-level object")) << reasons(f);
  // Trailing garbage after the wrapper.
  f = load_text(records_file(3) + " trailing");
  EXPECT_EQ(intact_events(f), range(0, 3));
  EXPECT_TRUE(has_error(f, "after the end of the log object")) << reasons(f);
  // NDJSON whose first line is not JSON.
  f = load_text("oops\n" + ndjson_file(2));
  EXPECT_EQ(f.format, file_format::ndjson);
  EXPECT_EQ(intact_events(f), range(0, 2));
  EXPECT_EQ(f.errors.size(), 1u) << reasons(f);
}

TEST(input_splitter, record_syntax_is_left_to_the_parser) {
  // Boundaries are all the splitter checks: a bad literal with only literal characters, or a
  // duplicate comma, still makes a record, which the parser will reject.
  const loaded_file f = load_text(damage(3, 1, R"("readOnly":true,)", R"("readOnly":tru,,)"));
  ASSERT_EQ(f.records.size(), 3u);
  EXPECT_TRUE(f.errors.empty()) << reasons(f);
  EXPECT_NE(f.record(f.records[1]).find("tru,,"), std::string::npos);
}

TEST(input_splitter, record_index_counts_rejected_records) {
  const loaded_file f = load_text(damage(5, 2, "true", "yes"));
  ASSERT_EQ(f.records.size(), 4u);
  EXPECT_EQ(f.records[2].index, 3u);
  ASSERT_FALSE(f.errors.empty());
  EXPECT_EQ(f.errors[0].index, 2u);
  EXPECT_NE(f.errors[0].reason.find("malformed record: unexpected 'y' at offset"),
            std::string::npos)
      << reasons(f);
}

TEST(input_splitter, ndjson_bad_lines_lose_only_themselves) {
  std::string text;
  for (int i = 0; i < 6; ++i) {
    std::string e = make_event(i);
    if (i == 1) e.erase(e.size() - 1);                                        // missing brace
    if (i == 3) e.replace(e.find("\"eventTime\":\""), 13, "\"eventTime\":");  // lost quote
    text += e + "\n";
  }
  const loaded_file f = load_text(text);
  EXPECT_EQ(intact_events(f), all_but(6, {1, 3})) << reasons(f);
  ASSERT_EQ(f.errors.size(), 2u) << reasons(f);
  EXPECT_EQ(f.errors[0].line, 2u);
  EXPECT_EQ(f.errors[1].line, 4u);
}

TEST(input_splitter, truncated_plain_file) {
  const std::string full = records_file(10);
  const std::string e6 = make_event(6);
  const size_t cut = full.find(e6) + e6.size() / 2;
  for (const std::string& text : {full.substr(0, cut), records_file(10).substr(0, full.size() - 2),
                                  records_file(10).substr(0, full.size() - 1)}) {
    const loaded_file f = load_text(text);
    if (text.size() == cut) {
      EXPECT_EQ(intact_events(f), range(0, 6));
      ASSERT_EQ(f.errors.size(), 1u) << reasons(f);
      EXPECT_EQ(f.errors[0].reason, "truncated record");
      EXPECT_EQ(f.errors[0].index, 6u);
    } else {
      EXPECT_EQ(intact_events(f), range(0, 10));
      EXPECT_TRUE(has_error(f, "truncated file")) << reasons(f);
    }
  }
  // NDJSON cut in its last line.
  const std::string nd = ndjson_file(5);
  const loaded_file g = load_text(nd.substr(0, nd.size() - 100));
  EXPECT_EQ(intact_events(g), range(0, 4));
  ASSERT_EQ(g.errors.size(), 1u) << reasons(g);
  EXPECT_EQ(g.errors[0].reason, "truncated record");
}

TEST(input_splitter, deep_nesting_rejected_fast) {
  for (const size_t depth : {size_t{100000}, size_t{1000000}}) {
    SCOPED_TRACE(depth);
    const std::string deep = "{\"eventVersion\":\"1.08\",\"x\":" + std::string(depth, '[') +
                             std::string(depth, ']') + "}";
    const std::string deep_obj = "{\"eventVersion\":\"1.08\",\"x\":" + [&] {
      std::string s;
      for (size_t i = 0; i < depth; ++i) s += "{\"a\":";
      s += "1";
      return s + std::string(depth, '}');
    }() + "}";
    const std::string records =
        "{\"Records\":[" + make_event(0) + "," + deep + "," + deep_obj + "," + make_event(1) + "]}";
    const std::string nd =
        make_event(0) + "\n" + deep + "\n" + deep_obj + "\n" + make_event(1) + "\n";
    const std::string unclosed = "{\"Records\":[" + make_event(0) + "," + std::string(depth, '{');
    for (const std::string* text : {&records, &nd, &unclosed}) {
      const auto t0 = std::chrono::steady_clock::now();
      const loaded_file f = load_text(*text);
      EXPECT_LT(seconds_since(t0), 1.0);
      EXPECT_TRUE(has_error(f, "nesting deeper than 64")) << reasons(f);
      if (text == &unclosed) {
        EXPECT_EQ(intact_events(f), range(0, 1));
      } else {
        EXPECT_EQ(intact_events(f), range(0, 2));
        EXPECT_EQ(f.errors.size(), 2u) << reasons(f);
      }
    }
  }
  // The cap is configurable and counts the record's own object as level 1.
  limits lim;
  lim.max_depth = 3;
  EXPECT_EQ(load_text(R"({"Records":[{"a":{"b":[1]}}]})", lim).records.size(), 1u);
  const loaded_file f = load_text(R"({"Records":[{"a":{"b":[{}]}}]})", lim);
  EXPECT_TRUE(f.records.empty());
  EXPECT_TRUE(has_error(f, "nesting deeper than 3")) << reasons(f);
}

TEST(input_splitter, record_size_cap) {
  limits lim;
  lim.max_record_bytes = 4096;
  std::string big = make_event(1);
  big.insert(big.find("\"maxResults\""), "\"blob\":\"" + std::string(10000, 'x') + "\",");
  const std::string text =
      "{\"Records\":[" + make_event(0) + "," + big + "," + make_event(2) + "]}";
  const loaded_file f = load_text(text, lim);
  EXPECT_EQ(intact_events(f), (std::vector<int>{0, 2}));
  ASSERT_EQ(f.errors.size(), 1u) << reasons(f);
  EXPECT_EQ(f.errors[0].reason, "record larger than max_record_bytes");
  EXPECT_EQ(f.errors[0].index, 1u);
  // The default (16 MiB) takes a large record.
  EXPECT_EQ(load_text(text).records.size(), 3u);
}

TEST(input_splitter, nul_and_invalid_utf8_inside_strings_are_the_parsers_problem) {
  std::string e = make_event(1);
  e.replace(e.find("Admin"), 5, std::string("Ad\0\xff\xc3", 5));
  const std::string text = "{\"Records\":[" + make_event(0) + "," + e + "," + make_event(2) + "]}";
  const loaded_file f = load_text(text);
  ASSERT_EQ(f.records.size(), 3u) << reasons(f);
  EXPECT_EQ(f.record(f.records[1]), e);
  EXPECT_TRUE(f.errors.empty());
}

TEST(input_splitter, error_cap) {
  limits lim;
  lim.max_errors_per_file = 5;
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += "not json " + std::to_string(i) + "\n" + make_event(i) + "\n";
  const loaded_file f = load_text(text, lim);
  EXPECT_EQ(intact_events(f), range(0, 20));
  EXPECT_EQ(f.errors.size(), 5u);
  EXPECT_EQ(f.dropped_errors, 15u);
  EXPECT_EQ(f.dropped_record_errors, 15u);
}

// Regression (found by tests/hostile): records lost beyond max_errors_per_file were counted as
// file errors, so the run summary reported 1000 malformed records for a file with 3000.
TEST(input_splitter, errors_beyond_the_cap_are_still_counted_by_kind) {
  limits lim;
  lim.max_errors_per_file = 4;
  std::string text = "{\"Records\":[";
  for (int i = 0; i < 10; ++i) text += make_event(i) + ",{\"eventVersion\":\"1.09\",@},";
  text += make_event(10) + "]} trailing";  // + a file error beyond the cap
  const loaded_file f = load_text(text, lim);
  EXPECT_EQ(intact_events(f), range(0, 11));
  EXPECT_EQ(f.errors.size(), 4u);
  EXPECT_EQ(f.dropped_errors, 7u);
  EXPECT_EQ(f.dropped_record_errors, 6u);
  input_counters c;
  c.add(f);
  EXPECT_EQ(c.record_errors, 10u);
  EXPECT_EQ(c.file_errors, 1u);
  EXPECT_EQ(c.records, 11u);
}

// Random damage: never crashes, hands out only well-formed ranges, stays linear, and loses
// few records for a single damaged byte.
TEST(input_splitter, random_damage) {
  const int n = 40;
  const std::string base = records_file(n);
  std::mt19937 rng(12345);
  const char specials[] = {'"', '{', '}', '[', ']', ',', ':', '\\', '\n', '\0', 'x', ' '};
  int single_byte_runs = 0;
  int lost_total = 0;
  int worst = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = base;
    const int kind = iter % 4;
    const size_t pos = rng() % s.size();
    if (kind == 0) {
      s[pos] = specials[rng() % sizeof specials];
    } else if (kind == 1) {
      s.insert(pos, 1, specials[rng() % sizeof specials]);
    } else if (kind == 2) {
      s.erase(pos, 1);
    } else {
      for (int k = 0; k < 20; ++k) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
    }
    const loaded_file f = load_text(s);
    ASSERT_TRUE(f.fatal_error.empty());
    expect_well_formed_refs(f);
    if (kind != 3) {
      const int lost = n - static_cast<int>(intact_events(f).size());
      ++single_byte_runs;
      lost_total += lost;
      worst = std::max(worst, lost);
      EXPECT_LE(lost, 2) << "iteration " << iter << " pos " << pos << "\n" << reasons(f);
    }
  }
  EXPECT_LT(seconds_since(t0), 30.0);
  RecordProperty("avg_lost_per_single_byte_damage",
                 std::to_string(static_cast<double>(lost_total) / single_byte_runs));
  RecordProperty("worst_lost", worst);
}

// ---------------------------------------------------------------------------------------------
// Reading

TEST(input_reading, unreadable_file_is_a_fatal_error) {
  temp_dir dir;
  const loaded_file f = load(dir.path("missing.json"));
  EXPECT_EQ(f.fatal_error, "cannot open: No such file or directory");
  EXPECT_TRUE(f.records.empty());
  const loaded_file d = load(dir.path());
  EXPECT_EQ(d.fatal_error, "read error: Is a directory");
}

TEST(input_reading, stdin) {
  temp_dir dir;
  const std::string path = dir.write_gz("in.json.gz", records_file(3));
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  const discovery_result d = discover({"-"});
  ASSERT_EQ(d.files.size(), 1u);
  EXPECT_EQ(d.files[0].path, "-");
  EXPECT_EQ(d.files[0].size, 0u);
  const loaded_file f = load_file(d.files[0]);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_TRUE(f.gzip);
  EXPECT_EQ(intact_events(f), range(0, 3));
  const discovery_result twice = discover({"-", "-"});
  EXPECT_EQ(twice.files.size(), 1u);
  EXPECT_EQ(twice.problems.size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Discovery

TEST(input_discovery, delivery_time_key) {
  EXPECT_EQ(delivery_time_key("111122223333_CloudTrail_us-east-1_20261120T0005Z_AbCd.json.gz"),
            "20261120T0005Z");
  EXPECT_EQ(delivery_time_key("111122223333_CloudTrail_ap-southeast-2_20260101T2355Z_x9.json"),
            "20260101T2355Z");
  EXPECT_EQ(delivery_time_key("notes.json"), "");
  EXPECT_EQ(delivery_time_key("111122223333_CloudTrail_us-east-1_2026112T0005Z_AbCd.json.gz"), "");
  EXPECT_EQ(delivery_time_key("111122223333_CloudTrail_us-east-1_20261120T0005Z.json.gz"), "");
  EXPECT_EQ(delivery_time_key("111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_"
                              "20261120T000000Z.json.gz"),
            "");
}

TEST(input_discovery, s3_layout_ordered_by_delivery_time) {
  temp_dir dir;
  const auto name = [](const char* region, const char* ts, const char* id) {
    return std::string("111122223333_CloudTrail_") + region + "_" + ts + "_" + id + ".json.gz";
  };
  const auto at = [&](const char* region, const char* day, const char* ts, const char* id) {
    return std::string("AWSLogs/111122223333/CloudTrail/") + region + "/2026/11/" + day + "/" +
           name(region, ts, id);
  };
  // Created out of order, across days and regions.
  const std::vector<std::string> rels = {
      at("us-west-2", "21", "20261121T0000Z", "Zz"),
      at("us-east-1", "20", "20261120T0010Z", "Bb"),
      at("us-east-1", "21", "20261121T0005Z", "Aa"),
      at("us-east-1", "20", "20261120T0005Z", "AbCd"),
      at("us-west-2", "20", "20261120T0005Z", "Aa"),
      "AWSLogs/notes.json",
      "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/"
      "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261120T000000Z.json.gz",
      "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/20/"
      "111122223333_CloudTrail-Insight_us-east-1_20261120T0005Z_Ab.json.gz",
      "elsewhere/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T000000Z.json.gz"};
  for (const std::string& r : rels) dir.write(r, "{\"Records\":[]}");
  const discovery_result d = discover({dir.path("AWSLogs"), dir.path("elsewhere")});
  std::vector<std::string> got;
  for (const input_file& f : d.files) got.push_back(f.path.substr(dir.path().size() + 1));
  const std::vector<std::string> want = {"AWSLogs/notes.json",  // no timestamp: first
                                         at("us-east-1", "20", "20261120T0005Z", "AbCd"),
                                         at("us-west-2", "20", "20261120T0005Z", "Aa"),
                                         at("us-east-1", "20", "20261120T0010Z", "Bb"),
                                         at("us-west-2", "21", "20261121T0000Z", "Zz"),
                                         at("us-east-1", "21", "20261121T0005Z", "Aa")};
  EXPECT_EQ(got, want);
  EXPECT_EQ(d.files[1].delivery_time_key, "20261120T0005Z");
  EXPECT_EQ(d.files[1].size, 14u);
  EXPECT_EQ(d.total_bytes, 6u * 14u);
  EXPECT_EQ(d.skipped_by_reason.at("digest"), 2u);
  EXPECT_EQ(d.skipped_by_reason.at("insights"), 1u);
  EXPECT_TRUE(d.problems.empty());
}

TEST(input_discovery, arguments_keep_their_order_and_files_are_listed_once) {
  temp_dir dir;
  const std::string b =
      dir.write("b/111122223333_CloudTrail_us-east-1_20260101T0000Z_a.json", "{}");
  const std::string a =
      dir.write("a/111122223333_CloudTrail_us-east-1_20270101T0000Z_a.json", "{}");
  const std::string single = dir.write("single.json", "{}");
  const discovery_result d = discover({dir.path("a"), single, dir.path("b"), dir.path("a"), a});
  ASSERT_EQ(d.files.size(), 3u);
  EXPECT_EQ(d.files[0].path, a);
  EXPECT_EQ(d.files[1].path, single);
  EXPECT_EQ(d.files[2].path, b);
  EXPECT_EQ(d.skipped_by_reason.at("duplicate directory"), 1u);
  EXPECT_EQ(d.skipped_by_reason.at("duplicate"), 1u);
}

TEST(input_discovery, symlink_loop_and_duplicate_directory) {
  temp_dir dir;
  dir.write("root/a/f.json", "{}");
  dir.write("root/b/g.json", "{}");
  fs::create_directory_symlink(dir.path("root"), dir.path("root/a/loop"));
  fs::create_directory_symlink(dir.path("root/b"), dir.path("root/alias_of_b"));
  fs::create_directory_symlink("..", dir.path("root/b/up"));
  const discovery_result d = discover({dir.path("root")});
  std::vector<std::string> got;
  for (const input_file& f : d.files) got.push_back(f.path.substr(dir.path().size() + 1));
  EXPECT_EQ(got, (std::vector<std::string>{"root/a/f.json", "root/b/g.json"}));
  EXPECT_EQ(d.skipped_by_reason.at("symlink loop"), 2u);
  EXPECT_EQ(d.skipped_by_reason.at("duplicate directory"), 1u);
  EXPECT_TRUE(d.problems.empty());
  // Not following links: no loop possible.
  discovery_options no_follow;
  no_follow.follow_symlinks = false;
  const discovery_result n = discover({dir.path("root")}, no_follow);
  EXPECT_EQ(n.files.size(), 2u);
  EXPECT_EQ(n.skipped_by_reason.at("symlink not followed"), 3u);
}

TEST(input_discovery, problems_are_reported_not_fatal) {
  temp_dir dir;
  dir.write("d/ok.json", "{}");
  fs::create_symlink(dir.path("d/nowhere.json"), dir.path("d/dangling.json"));
  fs::create_symlink(dir.path("nowhere"), dir.path("dangling_arg"));
  ASSERT_EQ(::mkfifo(dir.path("d/fifo").c_str(), 0600), 0);
  const discovery_result d =
      discover({dir.path("missing"), dir.path("d"), dir.path("dangling_arg")});
  ASSERT_EQ(d.files.size(), 1u);
  EXPECT_EQ(d.files[0].path, dir.path("d/ok.json"));
  ASSERT_EQ(d.problems.size(), 3u);
  EXPECT_EQ(d.problems[0].path, dir.path("missing"));
  EXPECT_EQ(d.problems[0].reason, "cannot access: No such file or directory");
  EXPECT_EQ(d.problems[1].path, dir.path("d/dangling.json"));
  EXPECT_EQ(d.problems[1].reason, "dangling symlink");
  EXPECT_EQ(d.problems[2].reason, "dangling symlink");
  EXPECT_EQ(d.skipped_by_reason.at("not a regular file"), 1u);
}

TEST(input_discovery, unreadable_file_and_directory) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything: permission bits cannot be tested";
  temp_dir dir;
  const std::string f = dir.write("d/secret.json", "{}");
  dir.write("d/closed/x.json", "{}");
  fs::permissions(f, fs::perms::none);
  fs::permissions(dir.path("d/closed"), fs::perms::none);
  const discovery_result d = discover({dir.path("d")});
  EXPECT_TRUE(d.files.empty());
  ASSERT_EQ(d.problems.size(), 2u);
  fs::permissions(dir.path("d/closed"), fs::perms::owner_all);
  const loaded_file l = load(f);
  EXPECT_EQ(l.fatal_error, "cannot open: Permission denied");
}

// Discovery is linear: walk, one stat per entry, one sort.
void discover_many_files(int dirs, int per_dir) {
  temp_dir dir;
  for (int d = 0; d < dirs; ++d) {
    const fs::path p = fs::path(dir.path()) / "AWSLogs" / std::to_string(d);
    fs::create_directories(p);
    for (int i = 0; i < per_dir; ++i) {
      char name[128];
      std::snprintf(name, sizeof name,
                    "111122223333_CloudTrail_us-east-1_2026%02d%02dT%02d%02dZ_%d.json", 1 + i % 12,
                    1 + d % 28, i % 24, (i * 7 + d) % 60, i);
      const int fd = ::open((p / name).c_str(), O_CREAT | O_WRONLY, 0644);
      ASSERT_GE(fd, 0);
      ::close(fd);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const discovery_result r = discover({dir.path("AWSLogs")});
  const double secs = seconds_since(t0);
  testing::Test::RecordProperty("discover_seconds", std::to_string(secs));
  ASSERT_EQ(r.files.size(), static_cast<size_t>(dirs) * per_dir);
  EXPECT_LT(secs, 1e-4 * dirs * per_dir);  // 100 us per file: far above the ~8 us measured
  EXPECT_TRUE(std::is_sorted(r.files.begin(), r.files.end(), [](const auto& a, const auto& b) {
    return std::tie(a.delivery_time_key, a.path) < std::tie(b.delivery_time_key, b.path);
  }));
}

TEST(input_discovery, many_small_files) { discover_many_files(20, 1000); }

// 10^5 files: creating and deleting them dominates (tens of seconds on a loaded disk).
TEST(input_discovery, DISABLED_hundred_thousand_files) { discover_many_files(100, 1000); }

TEST(input_counters, summary) {
  temp_dir dir;
  dir.write("d/a.json", records_file(3));
  dir.write("d/b.json", damage(4, 1, "true", "yes"));
  dir.write("d/e.json", "");
  dir.write("d/CloudTrail-Digest/x.json.gz", "{}");
  fs::create_symlink(dir.path("nowhere"), dir.path("d/dangling"));
  input_counters c;
  const discovery_result d = discover({dir.path("d")});
  c.add(d);
  for (const input_file& f : d.files) c.add(load_file(f));
  c.add(load(dir.path("missing")));
  EXPECT_EQ(c.files_found, 3u);
  EXPECT_EQ(c.path_problems, 1u);
  EXPECT_EQ(c.files_loaded, 2u);
  EXPECT_EQ(c.files_failed, 1u);
  EXPECT_EQ(c.files_with_errors, 1u);
  EXPECT_EQ(c.files_skipped, 2u);
  EXPECT_EQ(c.skipped_by_reason.at("digest"), 1u);
  EXPECT_EQ(c.skipped_by_reason.at("empty"), 1u);
  EXPECT_EQ(c.records, 6u);
  EXPECT_EQ(c.record_errors, 1u);
  EXPECT_EQ(c.files_by_format.at("cloudtrail"), 2u);
}

// ---------------------------------------------------------------------------------------------
// Throughput (run with --gtest_also_run_disabled_tests; build optimised).

// Splits `text` 7 times, returns the best time in seconds.
double best_split_seconds(const std::string& text, size_t expect_records) {
  double best = 1e9;
  for (int run = 0; run < 7; ++run) {
    loaded_file f;
    f.text = text;
    const auto t0 = std::chrono::steady_clock::now();
    split_records(f);
    best = std::min(best, seconds_since(t0));
    EXPECT_EQ(f.records.size(), expect_records);
  }
  return best;
}

// The 64-byte block scanner and the byte-at-a-time scanner split every text alike: the same
// records (offsets, lengths, indexes) and the same errors, on realistic records with random
// damage near the 64-byte block edges (quotes, escapes, brackets, newlines, control and high
// bytes), in CloudTrail, NDJSON and array layouts, with and without deep nesting.
TEST(input_split, block_scanner_agrees_with_the_byte_scanner) {
  struct split {
    std::vector<record_ref> records;
    std::vector<record_error> errors;
    file_format format;
  };
  auto run = [](const std::string& text, bool scalar, uint32_t max_depth) {
    detail::scalar_record_scanner = scalar;
    loaded_file f;
    f.path = "t.json";
    f.text = text;
    limits lim;
    lim.max_depth = max_depth;
    split_records(f, lim);
    detail::scalar_record_scanner = false;
    return split{f.records, f.errors, f.format};
  };
  const std::string damage[] = {"\"", "\\", "\\\\", "\\\"", "\n",   "{",   "}", "[",    "]",  ",",
                                ":",  " ",  "\x01", "\x80", "\xff", "\\n", "x", "\"\"", "}}", "]]"};
  std::mt19937 rng(2026);
  size_t checked = 0, with_errors = 0;
  for (int round = 0; round < 3000; ++round) {
    const int n = 1 + static_cast<int>(rng() % 4);
    const int layout = static_cast<int>(rng() % 3);  // CloudTrail, NDJSON, array
    std::string text = layout == 0 ? "{\"Records\":[" : layout == 2 ? "[" : "";
    for (int i = 0; i < n; ++i) {
      std::string e = make_event(round * 10 + i);
      if (rng() % 4 == 0) {  // deep nesting inside requestParameters
        const size_t at = e.find("\"requestParameters\":{") + 21;
        const int deep = static_cast<int>(rng() % 80);
        e.insert(at, "\"deep\":" + std::string(deep, '[') + std::string(deep, ']') + ",");
      }
      if (layout == 1)
        text += e + "\n";
      else
        text += (i ? "," : "") + e;
    }
    if (layout == 0) text += "]}";
    if (layout == 2) text += "]";
    const int hits = static_cast<int>(rng() % 4);
    for (int h = 0; h < hits; ++h) {
      // Near a 64-byte boundary of the text half of the time: where blocks meet.
      size_t at = rng() % text.size();
      if (rng() % 2) at = std::min(text.size() - 1, (at & ~size_t{63}) + 62 + rng() % 4);
      const std::string& d = damage[rng() % std::size(damage)];
      if (rng() % 2)
        text.insert(at, d);
      else
        text.replace(at, std::min(d.size(), text.size() - at), d);
    }
    const uint32_t max_depth = rng() % 3 == 0 ? 16 : 64;
    const split a = run(text, false, max_depth);
    const split b = run(text, true, max_depth);
    ASSERT_EQ(a.format, b.format) << "round " << round;
    ASSERT_EQ(a.records.size(), b.records.size()) << "round " << round << "\n" << text;
    for (size_t i = 0; i < a.records.size(); ++i) {
      ASSERT_EQ(a.records[i].offset, b.records[i].offset) << "round " << round;
      ASSERT_EQ(a.records[i].length, b.records[i].length) << "round " << round;
      ASSERT_EQ(a.records[i].index, b.records[i].index) << "round " << round;
    }
    ASSERT_EQ(a.errors.size(), b.errors.size()) << "round " << round << "\n" << text;
    for (size_t i = 0; i < a.errors.size(); ++i) {
      ASSERT_EQ(a.errors[i].offset, b.errors[i].offset) << "round " << round;
      ASSERT_EQ(a.errors[i].reason, b.errors[i].reason) << "round " << round;
      ASSERT_EQ(a.errors[i].index, b.errors[i].index) << "round " << round;
    }
    ++checked;
    with_errors += a.errors.empty() ? 0 : 1;
  }
  // The damage must really reach the error paths, and often.
  EXPECT_EQ(checked, 3000u);
  EXPECT_GT(with_errors, 800u);
}

TEST(input_bench, DISABLED_splitter_throughput) {
  // ~50 MB of realistic records; request ids random so that gzip is not unrealistically good.
  std::mt19937 rng(7);
  std::vector<std::string> events;
  size_t total = 0;
  while (total < (50u << 20)) {
    const int n = static_cast<int>(events.size());
    std::string e = make_event(n, n % 3 ? "DescribeInstances" : "GetObject");
    const size_t at = e.find("\"requestID\":\"") + 13;
    for (size_t i = at; i < at + 36; ++i)
      if (e[i] != '-') e[i] = "0123456789abcdef"[rng() % 16];
    total += e.size() + 1;
    events.push_back(std::move(e));
  }
  std::string records = "{\"Records\":[";
  std::string ndjson;
  std::string pretty;
  for (size_t i = 0; i < events.size(); ++i) {
    records += (i ? "," : "") + events[i];
    ndjson += events[i] + "\n";
    // Pretty-printed, roughly: a newline and indentation after each ',' '{' ':' outside
    // strings; enough to weigh whitespace handling.
    std::string p;
    bool in_string = false;
    for (size_t k = 0; k < events[i].size(); ++k) {
      const char c = events[i][k];
      p += c;
      if (in_string) {
        if (c == '\\') {
          p += events[i][++k];
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == ',' || c == '{') {
        p += "\n      ";
      } else if (c == ':') {
        p += ' ';
      }
    }
    pretty += (i ? ",\n  " : "[\n  ") + p;
  }
  records += "]}";
  pretty += "\n]\n";
  const size_t n = events.size();
  const auto report = [&](const char* what, const std::string& text) {
    const double best = best_split_seconds(text, n);
    const double mb = static_cast<double>(text.size()) / 1e6;
    std::cout << what << ": " << mb << " MB, " << n << " records, best of 7 " << best * 1e3
              << " ms = " << mb / best << " MB/s, " << n / best / 1e6 << " M records/s\n";
  };
  report("split Records", records);
  report("split NDJSON", ndjson);
  report("split pretty array", pretty);
  detail::scalar_record_scanner = true;  // the byte-at-a-time scanner, for comparison
  report("split Records, byte scanner", records);
  report("split NDJSON, byte scanner", ndjson);
  report("split pretty array, byte scanner", pretty);
  detail::scalar_record_scanner = false;
  temp_dir dir;
  const std::string gz = gzip_bytes(dir, records);
  double best_gz = 1e9;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    const loaded_file f = load_buffer("mem", gz);
    best_gz = std::min(best_gz, seconds_since(t0));
    ASSERT_EQ(f.records.size(), n);
  }
  const double mb = static_cast<double>(records.size()) / 1e6;
  std::cout << "gunzip+split Records: " << gz.size() / 1e6 << " MB gz -> " << mb
            << " MB, best of 5 " << best_gz * 1e3 << " ms = " << mb / best_gz << " MB/s of JSON\n";
}

}  // namespace
