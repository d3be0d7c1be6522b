// SPDX-License-Identifier: Apache-2.0
// Tests of the new-source detector: days of benign history, then a new source fires; benign
// changes (trusted office CIDR, CI runners, AWS workloads, SDK upgrades) stay quiet; the
// country and impossible-travel rules on a small MaxMind database written by the test; the
// learned state survives a snapshot/restore.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <trailhound/testing.hpp>
#include <vector>

using namespace trailhound::testing;
using namespace trailhound::testing::timeline;

namespace {

int seq = 0;
void set_member(std::string& rec, const std::string& name, const std::string& value) {
  std::string key = "\"" + name + "\":\"";
  size_t p = rec.find(key);
  ASSERT_NE(p, std::string::npos) << name;
  p += key.size();
  size_t q = rec.find('"', p);
  rec.replace(p, q - p, value);
}
std::string stamp(std::string rec, int64_t secs) {
  set_member(rec, "eventTime", iso(secs));
  set_member(rec, "eventID", "ns-test-" + std::to_string(++seq));
  return rec;
}
std::string from(const std::string& rec, const std::string& ip) {
  return merge_json(rec, R"({"sourceIPAddress":")" + ip + R"("})");
}

std::string alice(const std::string& src, const std::string& name, const std::string& ip,
                  const std::string& patch = R"({"readOnly":true})") {
  return from(merge_json(records::iam_user(src, name), patch), ip);
}
// A human in an SSO role session (the role ARN is the identity).
std::string sso(const std::string& src, const std::string& name, const std::string& ip,
                const std::string& session = "bob@example.com") {
  std::string arn = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/" + session;
  return from(merge_json(records::assumed_role(src, name),
                         R"({"readOnly":true,"userIdentity":{"arn":")" + arn +
                             R"(","principalId":"AROAEXAMPLESSO:)" + session +
                             R"(","sessionContext":{"sessionIssuer":{"arn":
      "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123",
      "userName":"AWSReservedSSO_Admin_0123"}}}})"),
              ip);
}

// Ten days of alice from her home network with the aws-cli, a few calls a day.
void alice_history(harness& h, int days = 10, const std::string& ip = "198.51.100.10") {
  std::string a = alice("ec2.amazonaws.com", "DescribeInstances", ip);
  std::string b = alice("s3.amazonaws.com", "ListBuckets", ip);
  for (int d = 0; d < days; ++d)
    for (int hr = 9; hr < 17; hr += 2) {
      h.feed(stamp(a, at_time(d, hr)));
      h.feed(stamp(b, at_time(d, hr, 30)));
    }
}

// ------------------------------------------------------------------------------------------
// A minimal MaxMind DB (format 2.0) writer: IPv4 tree, 24-bit records, City-like data.
class mmdb_writer {
 public:
  void add(const char* cidr_base, int prefix, const std::string& iso_code, double lat, double lon) {
    unsigned a, b, c, d;
    ASSERT_EQ(std::sscanf(cidr_base, "%u.%u.%u.%u", &a, &b, &c, &d), 4);
    uint32_t ip = (a << 24) | (b << 16) | (c << 8) | d;
    int64_t off = static_cast<int64_t>(data_.size());
    map(2);
    str("country");
    map(1);
    str("iso_code");
    str(iso_code);
    str("location");
    map(2);
    str("latitude");
    dbl(lat);
    str("longitude");
    dbl(lon);
    int64_t n = 0;
    for (int bit = 0; bit < prefix; ++bit) {
      int dir = (ip >> (31 - bit)) & 1;
      if (bit == prefix - 1) {
        nodes_[n][dir] = -2 - off;
      } else {
        if (nodes_[n][dir] == -1) {
          nodes_.push_back({-1, -1});
          nodes_[n][dir] = static_cast<int64_t>(nodes_.size() - 1);
        }
        n = nodes_[n][dir];
      }
    }
  }
  std::string write(const std::string& path) {
    std::string out;
    const uint64_t count = nodes_.size();
    auto rec = [&](int64_t r) -> uint64_t {
      if (r >= 0) return static_cast<uint64_t>(r);
      if (r == -1) return count;
      return count + 16 + static_cast<uint64_t>(-2 - r);
    };
    for (auto& nd : nodes_)
      for (int k = 0; k < 2; ++k) {
        uint64_t v = rec(nd[k]);
        out.push_back(static_cast<char>(v >> 16));
        out.push_back(static_cast<char>(v >> 8));
        out.push_back(static_cast<char>(v));
      }
    out.append(16, '\0');
    out += data_;
    out += "\xAB\xCD\xEFMaxMind.com";
    data_.clear();
    map(9);
    str("node_count");
    uint(6, 4, count);
    str("record_size");
    uint(5, 2, 24);
    str("ip_version");
    uint(5, 2, 4);
    str("database_type");
    str("GeoLite2-City");
    str("languages");
    data_.push_back(static_cast<char>(1));  // extended type: array of 1
    data_.push_back(static_cast<char>(11 - 7));
    str("en");
    str("binary_format_major_version");
    uint(5, 2, 2);
    str("binary_format_minor_version");
    uint(5, 2, 0);
    str("build_epoch");
    data_.push_back(static_cast<char>(8));  // extended type: uint64 of 8 bytes
    data_.push_back(static_cast<char>(9 - 7));
    for (int k = 7; k >= 0; --k) data_.push_back(static_cast<char>(1700000000ull >> (8 * k)));
    str("description");
    map(1);
    str("en");
    str("trailhound test database");
    out += data_;
    std::ofstream(path, std::ios::binary)
        .write(out.data(), static_cast<std::streamsize>(out.size()));
    return path;
  }

 private:
  void map(int n) { data_.push_back(static_cast<char>((7 << 5) | n)); }
  void str(const std::string& s) {
    data_.push_back(static_cast<char>((2 << 5) | static_cast<int>(s.size())));
    data_ += s;
  }
  void dbl(double v) {
    data_.push_back(static_cast<char>((3 << 5) | 8));
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int k = 7; k >= 0; --k) data_.push_back(static_cast<char>(bits >> (8 * k)));
  }
  void uint(int type, int bytes, uint64_t v) {
    data_.push_back(static_cast<char>((type << 5) | bytes));
    for (int k = bytes - 1; k >= 0; --k) data_.push_back(static_cast<char>(v >> (8 * k)));
  }
  std::vector<std::array<int64_t, 2>> nodes_{{-1, -1}};
  std::string data_;
};

std::string test_db() {
  static std::string path;
  if (!path.empty()) return path;
  mmdb_writer w;
  w.add("198.51.100.0", 24, "US", 40.71, -74.01);  // New York
  w.add("198.51.101.0", 24, "US", 40.73, -73.99);  // New York, another ISP
  w.add("203.0.113.0", 24, "DE", 52.52, 13.40);    // Berlin
  w.add("192.0.2.0", 24, "BR", -23.55, -46.63);    // Sao Paulo
  w.add("20.0.0.0", 8, "US", 37.75, -97.82);       // a cloud provider's runners
  // One file per test process: ctest runs the tests of this file as parallel processes, and a
  // shared path would be rewritten under a reader (seen as a Bus error with ctest -j2).
  path = w.write(::testing::TempDir() + "trailhound-new-source-test-" + std::to_string(getpid()) +
                 ".mmdb");
  static const struct remove_at_exit {
    std::string file;
    ~remove_at_exit() { std::remove(file.c_str()); }
  } cleanup{path};
  return path;
}
std::string geo_config() {
  return "[detectors.new-source.params]\ngeoip_db = \"" + test_db() + "\"\n";
}

}  // namespace

// ------------------------------------------------------------------------------------------
// new-source-network

TEST(NewSource, LongTermKeyFromNewNetworkWithWritesIsHigh) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  for (int j = 0; j < 30; ++j)
    h.feed(stamp(alice("iam.amazonaws.com", "ListUsers", "203.0.113.99"), at_time(10, 3, 0, j)));
  h.feed(stamp(alice("iam.amazonaws.com", "CreateUser", "203.0.113.99",
                     R"({"requestParameters":{"userName":"backup-admin"}})"),
               at_time(10, 3, 2)));
  h.finish();
  ASSERT_EQ(h.count("new-source-network"), 1u);  // one per identity and network, not per event
  auto f = h.findings("new-source-network")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("network"), "203.0.113.0/24");
  EXPECT_EQ(f.evidence("sourceIPAddresses"), R"(["203.0.113.99"])");
  EXPECT_EQ(f.evidence("callCount"), "31");
  EXPECT_EQ(f.evidence("writeCalls"), R"(["iam.amazonaws.com:CreateUser"])");
  EXPECT_EQ(f.evidence("longTermCredentials"), "true");
  EXPECT_EQ(f.evidence("newForAccount"), "true");
  EXPECT_EQ(f.evidence("knownNetworks"), "1");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAEXAMPLEALICE0001");
  EXPECT_EQ(f.event_ids.size(), 10u);  // evidence_events
  EXPECT_EQ(f.first_seen, "2026-11-11T03:00:00Z");
  EXPECT_EQ(h.count("new-source-country"), 0u);  // no geoip_db configured
  EXPECT_EQ(h.count("impossible-travel"), 0u);
}

TEST(NewSource, TravellingUserReadingIsMedium) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances", "192.0.2.44"), at_time(10, 9)));
  h.finish();
  ASSERT_EQ(h.count("new-source-network"), 1u);
  EXPECT_EQ(h.findings("new-source-network")[0].severity, "medium");
}

TEST(NewSource, RoleSessionFromNewNetworkIsLow) {
  harness h(&th_module_entry_v1);
  for (int d = 0; d < 10; ++d)
    h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "198.51.100.20"), at_time(d, 10)));
  h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "192.0.2.44", "carol@example.com"),
               at_time(10, 10)));
  h.finish();
  ASSERT_EQ(h.count("new-source-network"), 1u);
  auto f = h.findings("new-source-network")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(
      f.principal,
      "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123");
  EXPECT_EQ(f.evidence("longTermCredentials"), "false");
}

TEST(NewSource, NothingDuringWarmup) {
  harness h(&th_module_entry_v1);
  alice_history(h, 3);
  h.feed(stamp(alice("iam.amazonaws.com", "CreateUser", "203.0.113.99"), at_time(3, 10)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(NewSource, NewOfficeCidrInTrustedCidrsDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["203.0.113.0/24"])");
  alice_history(h);
  for (int j = 0; j < 5; ++j)
    h.feed(stamp(alice("iam.amazonaws.com", "CreateUser", "203.0.113.99"), at_time(10, 3, j)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(NewSource, KnownNetworkNewAddressDoesNotFire) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  h.feed(stamp(alice("iam.amazonaws.com", "CreateUser", "198.51.100.77"), at_time(10, 3)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(NewSource, CiRunnersWithVariableSourcesAreNotReported) {
  // A GitHub Actions deploy role: a different runner network every day.
  harness h(&th_module_entry_v1);
  std::string dep =
      merge_json(records::assumed_role("cloudformation.amazonaws.com", "UpdateStack"),
                 R"({"userAgent":"aws-cli/2.15.0 Python/3.11 Linux/6.5 exe/x86_64"})");
  for (int d = 0; d < 12; ++d)
    h.feed(stamp(from(dep, "20." + std::to_string(40 + d) + ".7.9"), at_time(d, 14)));
  h.finish();
  // Seven networks in seven days of warm-up: a new network every day is this role's normal.
  EXPECT_EQ(h.count("new-source-network"), 0u);
  EXPECT_TRUE(h.findings().empty());
  harness g(&th_module_entry_v1);
  for (int d = 0; d < 12; ++d)
    g.feed(stamp(from(dep, "20." + std::to_string(40 + d) + ".7.9"), at_time(d, 14)));
  g.feed(stamp(from(dep, "20.99.7.9"), at_time(12, 14)));
  g.finish();
  size_t day12 = 0;
  for (auto& f : g.findings("new-source-network"))
    day12 += f.first_seen.rfind("2026-11-13", 0) == 0;
  EXPECT_EQ(day12, 0u);
}

TEST(NewSource, AwsWorkloadsAndInternalSourcesAreIgnored) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  std::string ec2 = merge_json(records::assumed_role("s3.amazonaws.com", "ListBuckets"),
                               R"({"userIdentity":{"arn":
      "arn:aws:sts::111122223333:assumed-role/AppServer/i-0a1b2c3d4e5f60718"}})");
  std::string delivery =
      merge_json(records::assumed_role("s3.amazonaws.com", "ListBuckets"),
                 R"({"userIdentity":{"sessionContext":{"ec2RoleDelivery":"2.0"}}})");
  std::string lambda =
      merge_json(records::assumed_role("dynamodb.amazonaws.com", "GetItem"),
                 R"({"userAgent":"Boto3/1.34 md/Botocore#1.34 exec-env/AWS_Lambda_python3.12"})");
  for (int d = 0; d < 11; ++d) {
    h.feed(stamp(from(ec2, "54.20." + std::to_string(d) + ".1"), at_time(d, 1)));
    h.feed(stamp(from(delivery, "3.8." + std::to_string(d) + ".1"), at_time(d, 2)));
    h.feed(stamp(from(lambda, "34.1." + std::to_string(d) + ".1"), at_time(d, 3)));
  }
  h.feed(stamp(alice("s3.amazonaws.com", "ListBuckets", "10.1.2.3"), at_time(10, 4)));
  h.feed(stamp(alice("s3.amazonaws.com", "ListBuckets", "AWS Internal"), at_time(10, 4)));
  h.feed(stamp(alice("s3.amazonaws.com", "ListBuckets", "fd00:ec2::23"), at_time(10, 4)));
  h.feed(stamp(records::aws_service("s3.amazonaws.com", "PutObject"), at_time(10, 5)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// new-user-agent-family

TEST(NewSource, NewClientFamilyFires) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  h.feed(stamp(merge_json(alice("s3.amazonaws.com", "ListBuckets", "198.51.100.10"),
                          R"({"userAgent":"S3 Browser/11.5.7 https://s3browser.com"})"),
               at_time(10, 9)));
  h.finish();
  ASSERT_EQ(h.count("new-user-agent-family"), 1u);
  auto f = h.findings("new-user-agent-family")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("userAgentFamily"), "s3-browser");
  EXPECT_EQ(f.evidence("userAgentMajorVersion"), "11");
  EXPECT_EQ(f.evidence("newNetwork"), "false");
}

TEST(NewSource, NewClientFromNewNetworkIsMedium) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  h.feed(stamp(merge_json(alice("sts.amazonaws.com", "GetCallerIdentity", "192.0.2.44"),
                          R"({"userAgent":"Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux"})"),
               at_time(10, 9)));
  h.finish();
  ASSERT_EQ(h.count("new-user-agent-family"), 1u);
  EXPECT_EQ(h.findings("new-user-agent-family")[0].severity, "medium");
  EXPECT_EQ(h.findings("new-user-agent-family")[0].evidence("userAgentFamily"), "boto3");
  EXPECT_EQ(h.count("new-source-network"), 1u);
}

TEST(NewSource, CliUpgradeIsNotANewFamily) {
  harness h(&th_module_entry_v1);
  alice_history(h);
  h.feed(stamp(merge_json(alice("s3.amazonaws.com", "ListBuckets", "198.51.100.10"),
                          R"({"userAgent":"aws-cli/2.22.1 md/awscrt#0.23 ua/2.0 os/linux#6.8"})"),
               at_time(10, 9)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// geo rules

TEST(NewSource, MissingGeoDatabaseIsACreateError) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.new-source.params]
geoip_db = "/nonexistent/GeoLite2-City.mmdb")");
  try {
    h.start();
    FAIL() << "start() should fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("geoip_db"), std::string::npos) << e.what();
  }
}

TEST(NewSource, NewCountryForLongTermKeyIsHigh) {
  harness h(&th_module_entry_v1);
  h.config(geo_config());
  alice_history(h);
  h.feed(stamp(alice("secretsmanager.amazonaws.com", "GetSecretValue", "203.0.113.99"),
               at_time(10, 9)));
  h.finish();
  ASSERT_EQ(h.count("new-source-country"), 1u);
  EXPECT_EQ(h.count("new-source-network"), 0u);  // the country finding covers the network
  EXPECT_EQ(h.count("impossible-travel"), 0u);   // 16 hours after the last call from New York
  auto f = h.findings("new-source-country")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("country"), "DE");
  EXPECT_EQ(f.evidence("previousCountries"), R"(["US"])");
  EXPECT_EQ(f.evidence("sensitiveCalls"), R"(["secretsmanager.amazonaws.com:GetSecretValue"])");
}

TEST(NewSource, NewNetworkSameCountryWithGeoIsNetworkRule) {
  harness h(&th_module_entry_v1);
  h.config(geo_config());
  alice_history(h);
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances", "198.51.101.5"), at_time(10, 9)));
  h.finish();
  EXPECT_EQ(h.count("new-source-country"), 0u);
  EXPECT_EQ(h.count("impossible-travel"), 0u);
  ASSERT_EQ(h.count("new-source-network"), 1u);
  EXPECT_EQ(h.findings("new-source-network")[0].evidence("country"), "US");
}

TEST(NewSource, ImpossibleTravelFires) {
  harness h(&th_module_entry_v1);
  h.config(geo_config());
  alice_history(h);
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances", "198.51.100.10"), at_time(10, 9)));
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances", "192.0.2.44"), at_time(10, 9, 40)));
  h.finish();
  ASSERT_EQ(h.count("impossible-travel"), 1u);
  auto f = h.findings("impossible-travel")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("previousCountry"), "US");
  EXPECT_EQ(f.evidence("country"), "BR");
  EXPECT_EQ(f.evidence("minutesBetween"), "40");
  EXPECT_GT(std::stoi(f.evidence("distanceKm")), 7000);
  EXPECT_EQ(h.count("new-source-country"), 1u);
}

TEST(NewSource, SharedRoleUsedFromTwoContinentsIsNotTravel) {
  harness h(&th_module_entry_v1);
  h.config(geo_config());
  for (int d = 0; d < 10; ++d) {
    h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "198.51.100.20", "bob@example.com"),
                 at_time(d, 14)));
    h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "203.0.113.20", "eva@example.com"),
                 at_time(d, 14, 5)));
  }
  h.finish();
  EXPECT_EQ(h.count("impossible-travel"), 0u);
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// persistence

namespace {
void history(harness& h) {
  alice_history(h);
  for (int d = 0; d < 10; ++d)
    h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "198.51.100.20"), at_time(d, 10)));
}
void anomaly(harness& h) {
  h.feed(stamp(alice("iam.amazonaws.com", "CreateUser", "192.0.2.44"), at_time(10, 3)));
  h.feed(stamp(sso("ec2.amazonaws.com", "DescribeInstances", "203.0.113.5"), at_time(10, 4)));
  h.feed(stamp(merge_json(alice("s3.amazonaws.com", "ListBuckets", "198.51.100.10"),
                          R"({"userAgent":"rclone/v1.68.1"})"),
               at_time(10, 6)));
}
std::vector<std::string> summary(const harness& h) {
  std::vector<std::string> out;
  for (auto& f : h.findings())
    out.push_back(f.finding_id + "|" + f.rule + "|" + f.severity + "|" + f.evidence_json);
  return out;
}
}  // namespace

TEST(NewSource, StateRoundTripGivesTheSameFindings) {
  for (bool geo : {false, true}) {
    int saved = seq;
    harness one(&th_module_entry_v1);
    if (geo) one.config(geo_config());
    history(one);
    anomaly(one);
    one.finish();
    EXPECT_GE(one.findings().size(), 3u);

    seq = saved;
    harness first(&th_module_entry_v1);
    if (geo) first.config(geo_config());
    history(first);
    first.finish();
    EXPECT_TRUE(first.findings().empty());
    std::string bytes = first.snapshot("new-source");

    harness second(&th_module_entry_v1);
    if (geo) second.config(geo_config());
    second.start();
    second.restore("new-source", bytes);
    anomaly(second);
    second.finish();
    EXPECT_EQ(summary(second), summary(one)) << "geo " << geo;

    harness third(&th_module_entry_v1);
    third.start();
    third.restore("new-source", bytes);
    EXPECT_EQ(third.snapshot("new-source"), bytes);
  }
}

TEST(NewSource, CorruptStateIsRejected) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("new-source", std::string("THNS1\x01\x7f", 7)), std::runtime_error);
  EXPECT_THROW(h.restore("new-source", "THAA1"), std::runtime_error);
}
