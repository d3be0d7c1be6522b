// SPDX-License-Identifier: Apache-2.0
// Whole-file parsing (input::limits::defer_split): a clean Records file is parsed in one pass
// without the splitter, and every file, clean or not, gives exactly what the splitter's path
// gives: the same records, file errors, failures and events.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cloudtrail/batch.hpp"
#include "cloudtrail/value_api.hpp"
#include "input/input.hpp"

namespace {

using namespace trailhound;

std::string gzip(const std::string& text) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A realistic record: an assumed-role session opening SSH to the world at 10:00:<second>.
std::string record(int i, int second, const std::string& user_agent = "aws-cli/2.15.0") {
  char buf[4096];
  std::snprintf(
      buf, sizeof buf,
      R"({"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:ci",)"
      R"("arn":"arn:aws:sts::111122223333:assumed-role/Deploy/ci-%d","accountId":"111122223333",)"
      R"("accessKeyId":"ASIAEXAMPLE%05d","sessionContext":{"sessionIssuer":{"type":"Role",)"
      R"("arn":"arn:aws:iam::111122223333:role/Deploy","userName":"Deploy"},)"
      R"("attributes":{"creationDate":"2026-11-20T09:00:00Z","mfaAuthenticated":"false"}}},)"
      R"("eventTime":"2026-11-20T10:00:%02dZ","eventSource":"ec2.amazonaws.com",)"
      R"("eventName":"AuthorizeSecurityGroupIngress","awsRegion":"eu-west-1",)"
      R"("sourceIPAddress":"198.51.100.%d","userAgent":"%s","requestParameters":{"groupId":)"
      R"("sg-0123456789abcdef0","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,)"
      R"("toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}},)"
      R"("responseElements":{"_return":true},"additionalEventData":{"bytesTransferredOut":0.0},)"
      R"("eventID":"%08x-aaaa-bbbb-cccc-ddddeeeeffff","readOnly":false,"eventType":"AwsApiCall",)"
      R"("managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management"})",
      i, i, second, i % 250, user_agent.c_str(), i);
  return buf;
}

std::string records_file(const std::vector<std::string>& records, const char* sep = ",") {
  std::string s = R"({"Records":[)";
  for (size_t i = 0; i < records.size(); ++i) s += (i ? sep : "") + records[i];
  return s + "]}";
}

// Everything a scan takes from a parsed file, as text.
std::string describe(const cloudtrail::parsed_batch& b) {
  std::ostringstream o;
  const input::loaded_file& f = b.file;
  o << "format " << f.format_name() << " skipped " << f.skipped << " " << f.skip_reason << " fatal "
    << f.fatal_error << " lazy " << b.lazy << "\n";
  for (const auto& r : f.records)
    o << "record " << r.index << " " << r.offset << "+" << r.length << "\n";
  for (const auto& e : f.errors)
    o << "error " << e.index << " @" << e.offset << " line " << e.line << " " << e.reason << "\n";
  o << "dropped " << f.dropped_errors << " " << f.dropped_record_errors << "\n";
  for (const auto& x : b.failures)
    o << "failure " << x.index << " @" << x.offset << " " << x.reason << "\n";
  for (const th_event& ev : b.events) {
    std::string dom;
    cloudtrail::append_value_json(ev.root, dom);
    o << "event " << ev.event_time_ms << " " << std::string_view(ev.event_id.ptr, ev.event_id.len)
      << " " << std::string_view(ev.principal_arn.ptr, ev.principal_arn.len) << " mfa "
      << ev.mfa_authenticated << " raw " << std::string_view(ev.raw_json.ptr, ev.raw_json.len)
      << " dom " << dom << "\n";
  }
  return o.str();
}

cloudtrail::parsed_batch load(const std::string& text, bool defer, input::limits lim = {},
                              size_t max_batch_records = 100'000) {
  lim.defer_split = defer;
  input::loaded_file f = input::load_buffer("AWSLogs/x.json.gz", gzip(text), lim);
  EXPECT_EQ(f.split_later.has_value(), defer && f.fatal_error.empty() && f.errors.empty());
  cloudtrail::parse_limits plim;
  plim.max_depth = lim.max_depth;
  plim.depth_prechecked = true;
  plim.max_batch_records = max_batch_records;
  return cloudtrail::parse_file(std::move(f), plim);
}

// Both paths on `text`; returns whether the deferred one parsed the file whole.
bool same_both_ways(const std::string& text, input::limits lim = {},
                    size_t max_batch_records = 100'000) {
  const cloudtrail::parsed_batch split = load(text, false, lim, max_batch_records);
  const cloudtrail::parsed_batch whole = load(text, true, lim, max_batch_records);
  EXPECT_FALSE(split.whole_file);
  EXPECT_EQ(describe(whole), describe(split));
  return whole.whole_file;
}

TEST(whole_file, clean_records_file_is_parsed_whole_with_the_splitters_results) {
  const std::vector<std::string> recs = {record(0, 30), record(1, 10), record(2, 50),
                                         record(3, 10)};
  const std::string text = records_file(recs);
  const cloudtrail::parsed_batch b = load(text, true);
  ASSERT_TRUE(b.whole_file);
  ASSERT_EQ(b.events.size(), 4u);
  ASSERT_EQ(b.file.records.size(), 4u);
  // Time order, equal times in file order; raw_json is each record's exact text.
  EXPECT_EQ(std::string_view(b.events[0].raw_json.ptr, b.events[0].raw_json.len), recs[1]);
  EXPECT_EQ(std::string_view(b.events[1].raw_json.ptr, b.events[1].raw_json.len), recs[3]);
  EXPECT_EQ(std::string_view(b.events[2].raw_json.ptr, b.events[2].raw_json.len), recs[0]);
  EXPECT_EQ(std::string_view(b.events[3].raw_json.ptr, b.events[3].raw_json.len), recs[2]);
  // The DOM reaches nested request parameters.
  const th_value* cidr = cloudtrail::json_pointer::parse(
                             "/requestParameters/ipPermissions/items/0/ipRanges/items/0/cidrIp")
                             ->resolve(b.events[0].root);
  ASSERT_NE(cidr, nullptr);
  std::string json;
  cloudtrail::append_value_json(cidr, json);
  EXPECT_EQ(json, "\"0.0.0.0/0\"");
  EXPECT_TRUE(same_both_ways(text));
  // Whitespace between tokens (pretty-printed files) and non-ASCII text are still clean.
  EXPECT_TRUE(same_both_ways(records_file(recs, ",\n  ") + "\n"));
  EXPECT_TRUE(
      same_both_ways(" {\n \"Records\" : [ " + record(0, 1, "Bot/1.0 (Zürich; 東京)") + " ] }\n"));
  // A record without eventTime parses but cannot become an event: a failure either way.
  std::string no_time = record(5, 1);
  no_time.replace(no_time.find("\"eventTime\""), 11, "\"eventTimx\"");
  EXPECT_TRUE(same_both_ways(records_file({record(4, 2), no_time})));
}

TEST(whole_file, anything_but_a_clean_records_file_goes_through_the_splitter) {
  const std::string a = record(0, 1);
  const std::string b = record(1, 2);
  std::string bad_token = b;
  bad_token.replace(bad_token.find("\"readOnly\":false"), 16, "\"readOnly\":fals");
  std::string bad_utf8 = b;
  bad_utf8.replace(bad_utf8.find("aws-cli"), 1, "\xC3\x28");
  std::string control = b;
  control.replace(control.find("aws-cli"), 1, "\x1C");
  std::string deep = b;
  deep.replace(deep.find("\"_return\":true"), 14,
               "\"x\":" + std::string(70, '[') + std::string(70, ']'));
  std::string insight = a;
  insight.replace(insight.find("\"Management\""), 12, "\"Insight\"");
  std::string huge_number = b;
  huge_number.replace(huge_number.find("\"fromPort\":22"), 13, "\"fromPort\":1e999");
  const std::vector<std::string> cases = {
      records_file({a, b}) + R"(,"x":1})",  // (malformed tail)
      R"({"Records":[)" + a + "," + b + R"(],"x":1})",
      R"({"digestStartTime":"2026-11-20T00:00:00Z","Records":[)" + a + "]}",
      R"({"Records":{"a":1}})",
      R"({"Records":[)" + a + ",5," + b + "]}",
      R"({"Records":[)" + a + "," + b + ",]}",
      R"({"Records":[)" + a + b + "]}",
      records_file({a, bad_token}),
      records_file({a, bad_utf8}),
      records_file({a, control}),
      records_file({a, b}) + std::string(1, '\0'),
      records_file({a, b}) + " x",
      records_file({a}) + records_file({b}),
      records_file({a, deep}),
      records_file({insight, b}),
      records_file({}),
      "\xEF\xBB\xBF" + records_file({a, b}),
      R"({"Records":[)" + a + R"(],"Records":[)" + b + "]}",
      R"({"Events":[{"EventId":"1","CloudTrailEvent":"{}"}]})",
      records_file({a, b}).substr(0, 2000),
      records_file({a, huge_number}),
      "[" + a + "," + b + "]",
      a + "\n" + b + "\n",
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    EXPECT_FALSE(same_both_ways(cases[i]));
  }
}

TEST(whole_file, limits_send_files_to_the_splitter) {
  const std::string text = records_file({record(0, 1), record(1, 2), record(2, 3)});
  input::limits small_records;
  small_records.max_record_bytes = 600;  // each record is about 1.2 KB
  EXPECT_FALSE(same_both_ways(text, small_records));
  input::limits shallow;
  shallow.max_depth = 7;  // the records nest 8 deep (.../ipRanges/items/0)
  EXPECT_FALSE(same_both_ways(text, shallow));
  shallow.max_depth = 8;
  EXPECT_TRUE(same_both_ways(text, shallow));
  // More records than a batch holds: the splitter's path parses them one at a time later.
  EXPECT_FALSE(same_both_ways(text, {}, 2));
  EXPECT_TRUE(load(text, true, {}, 2).lazy);
}

}  // namespace
