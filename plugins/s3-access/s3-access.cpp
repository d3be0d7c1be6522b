// SPDX-License-Identifier: Apache-2.0
// s3-access: S3 data access measured against a learned per-identity and per-bucket baseline (new
// buckets, first ListBuckets, mass reads and deletes, SSE-C rewrites, off-hours access, large
// transfers to outside addresses).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <trailhound/baseline.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/util.hpp>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace {
using namespace trailhound::sdk;
namespace bl = trailhound::baseline;
using bl::contains;
using bl::starts_with;
using util::string_map;

constexpr int64_t kMinuteMs = 60 * 1000LL;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kDisorderMs = 5 * kMinuteMs;  // out-of-order slack before a window closes
constexpr std::string_view kS3 = "s3.amazonaws.com";

// Memory caps (documented in docs/detectors/s3-access.md).
constexpr size_t kMaxIdentities = 50000;
constexpr size_t kBucketsPerIdentity = 512;
constexpr size_t kMaxBuckets = 100000;
constexpr size_t kMaxNetworks = 4096;
constexpr size_t kMaxAccounts = 10000;
constexpr size_t kMaxWindows = 50000;
constexpr size_t kMaxIpWindows = 20000;
constexpr size_t kDedupRing = 16384;
constexpr size_t kFirstEvents = 5;  // events of a window kept for its finding (plus the last)
constexpr size_t kSamplesPerFinding = 5;

// ------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// IPv4 a.b.c.d -> true with the four octets (each one or more digits, at most 255; leading
// zeros allowed).
bool parse_ipv4(std::string_view ip, unsigned o[4]) {
  const char* p = ip.data();
  const char* const end = p + ip.size();
  for (int n = 0; n < 4; ++n) {
    if (n > 0 && (p == end || *p++ != '.')) return false;
    unsigned cur, d;
    if (p == end || (cur = unsigned(*p - '0')) > 9) return false;
    for (++p; p != end && (d = unsigned(*p - '0')) <= 9; ++p)
      if ((cur = cur * 10 + d) > 255) return false;
    o[n] = cur;
  }
  return p == end;
}
bool is_ipv6(std::string_view ip) {
  if (ip.find(':') == std::string_view::npos) return false;
  for (char c : ip)
    if (c != ':' && c != '.' && !std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}
// A public (globally routable) address. Anything else (private ranges, service names, "AWS
// Internal") is not.
bool public_ip(std::string_view ip) {
  unsigned o[4];
  if (parse_ipv4(ip, o)) {
    unsigned a = o[0], b = o[1];
    return !(a == 0 || a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) ||
             (a == 192 && b == 168) || (a == 169 && b == 254) ||
             (a == 100 && b >= 64 && b <= 127) || a >= 224);
  }
  if (!is_ipv6(ip)) return false;
  std::string l;
  for (char c : ip.substr(0, 4)) l.push_back(static_cast<char>(std::tolower(c)));
  return !(ip == "::1" || ip == "::" || starts_with(l, "fc") || starts_with(l, "fd") ||
           starts_with(l, "fe8") || starts_with(l, "fe9") || starts_with(l, "fea") ||
           starts_with(l, "feb"));
}
// IPv4 /24, IPv6 /48; "" for non-addresses.
std::string network_of(std::string_view ip) {
  unsigned o[4];
  if (parse_ipv4(ip, o))
    return std::to_string(o[0]) + "." + std::to_string(o[1]) + "." + std::to_string(o[2]) + ".0/24";
  if (!is_ipv6(ip)) return {};
  size_t n = 0;
  for (size_t i = 0; i < ip.size(); ++i)
    if (ip[i] == ':' && ++n == 3) return std::string(ip.substr(0, i)) + "::/48";
  return {};
}

bool console_session(const event& e) {
  // A top-level field of the record ("sessionCredentialFromConsole": "true").
  if (e["sessionCredentialFromConsole"].as_bool(false) ||
      e["userIdentity"]["sessionCredentialFromConsole"].as_bool(false))
    return true;
  return e.source_ip() == "AWS Internal" || e.user_agent() == "AWS Internal" ||
         contains(e.user_agent(), "console.amazonaws.com") || contains(e.user_agent(), "S3Console");
}

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

// ------------------------------------------------------------------------------------------
// Time zones: a fixed offset ("+01:00", "-0530", "UTC") or an IANA name read from the system tz
// database (TZif files under /usr/share/zoneinfo). GCC 12 has no std::chrono time zones.
// ------------------------------------------------------------------------------------------
class time_zone {
 public:
  time_zone() = default;
  explicit time_zone(const std::string& spec) : name_(spec) {
    if (spec.empty() || spec == "UTC" || spec == "Z" || spec == "GMT" || spec == "Etc/UTC") return;
    if (parse_fixed(spec)) return;
    load_tzif(spec);
  }
  // Offset from UTC in milliseconds at `utc_ms`.
  int64_t offset_ms(int64_t utc_ms) const {
    if (transitions_.empty()) return fixed_ms_;
    int64_t s = floor_div(utc_ms, 1000);
    auto it =
        std::upper_bound(transitions_.begin(), transitions_.end(), std::make_pair(s, INT64_MAX));
    if (it == transitions_.begin()) return initial_ms_;
    return std::prev(it)->second;
  }
  const std::string& name() const { return name_; }

 private:
  bool parse_fixed(const std::string& s) {
    std::string_view v(s);
    if (starts_with(v, "UTC") || starts_with(v, "GMT")) v.remove_prefix(3);
    if (v.empty() || (v[0] != '+' && v[0] != '-')) return false;
    int sign = v[0] == '-' ? -1 : 1;
    v.remove_prefix(1);
    std::string digits;
    for (char c : v) {
      if (c == ':') continue;
      if (c < '0' || c > '9') return false;
      digits.push_back(c);
    }
    int h = 0, m = 0;
    if (digits.size() == 1 || digits.size() == 2) {
      h = std::stoi(digits);
    } else if (digits.size() == 4) {
      h = std::stoi(digits.substr(0, 2));
      m = std::stoi(digits.substr(2));
    } else {
      return false;
    }
    if (h > 14 || m > 59) throw std::runtime_error("timezone: offset out of range: " + s);
    fixed_ms_ = sign * (h * kHourMs + m * kMinuteMs);
    return true;
  }

  static int64_t be(const std::string& d, size_t pos, int bytes) {
    if (pos + static_cast<size_t>(bytes) > d.size()) throw std::runtime_error("timezone: bad TZif");
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(d[pos + i]);
    if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
    return static_cast<int64_t>(v);
  }

  void load_tzif(const std::string& name) {
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
            c == '+'))
        throw std::runtime_error("timezone: not an offset or a zone name: " + name);
    if (name.find("..") != std::string::npos || name[0] == '/')
      throw std::runtime_error("timezone: not a zone name: " + name);
    std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
    if (!in)
      throw std::runtime_error("timezone: unknown zone " + name +
                               " (use a fixed offset like \"+01:00\")");
    std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (d.size() < 44 || d.compare(0, 4, "TZif") != 0)
      throw std::runtime_error("timezone: not a TZif file: " + name);
    // Header counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
    auto counts = [&](size_t base, int64_t c[6]) {
      for (int i = 0; i < 6; ++i) c[i] = be(d, base + 20 + 4 * i, 4);
    };
    int64_t c[6];
    counts(0, c);
    size_t base = 0;
    int tbytes = 4;
    if (d[4] >= '2') {  // skip the v1 block, use the 64-bit one
      size_t v1 = 44 + c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
      base = v1;
      if (d.size() < base + 44 || d.compare(base, 4, "TZif") != 0)
        throw std::runtime_error("timezone: bad TZif v2 header: " + name);
      counts(base, c);
      tbytes = 8;
    }
    size_t pos = base + 44;
    const int64_t timecnt = c[3], typecnt = c[4];
    std::vector<int64_t> times(static_cast<size_t>(timecnt));
    for (auto& t : times) {
      t = be(d, pos, tbytes);
      pos += static_cast<size_t>(tbytes);
    }
    std::vector<uint8_t> idx(static_cast<size_t>(timecnt));
    for (auto& x : idx) x = static_cast<uint8_t>(be(d, pos++, 1));
    std::vector<int64_t> offs(static_cast<size_t>(typecnt));
    for (auto& o : offs) {
      o = be(d, pos, 4) * 1000;
      pos += 6;
    }
    if (offs.empty()) throw std::runtime_error("timezone: empty TZif: " + name);
    initial_ms_ = offs[0];
    fixed_ms_ = offs.back();
    for (size_t i = 0; i < times.size(); ++i) {
      if (idx[i] >= offs.size()) throw std::runtime_error("timezone: bad TZif index: " + name);
      transitions_.emplace_back(times[i], offs[idx[i]]);
    }
    if (transitions_.empty()) {
      fixed_ms_ = initial_ms_;
    }
  }

  std::string name_;
  int64_t fixed_ms_ = 0;
  int64_t initial_ms_ = 0;
  std::vector<std::pair<int64_t, int64_t>> transitions_;  // (utc seconds, offset ms)
};

// "08:00-19:00" and "Mon-Fri" (or "Mon,Wed,Fri", "Sun-Thu").
struct business_hours {
  bool active = false;
  int start_min = 0, end_min = 0;  // [start, end) in local minutes of the day; wraps if start > end
  std::array<bool, 7> days{};      // Monday = 0

  static int parse_hhmm(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    size_t colon = s.find(':');
    std::string h(s.substr(0, colon)),
        m(colon == std::string_view::npos ? "0" : s.substr(colon + 1));
    if (h.empty() || m.empty() || h.size() > 2 || m.size() > 2) return -1;
    for (char c : h + m)
      if (c < '0' || c > '9') return -1;
    int v = std::stoi(h) * 60 + std::stoi(m);
    return v > 24 * 60 ? -1 : v;
  }
  static int day_index(std::string_view s) {
    static const char* names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    std::string l;
    for (char c : s)
      if (c != ' ') l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    for (int i = 0; i < 7; ++i)
      if (l.size() >= 3 && l.compare(0, 3, names[i]) == 0) return i;
    return -1;
  }

  business_hours(const std::string& hours, const std::string& days_spec) {
    if (hours.empty()) return;
    size_t dash = hours.find('-');
    if (dash == std::string::npos) throw std::runtime_error("business_hours: expected HH:MM-HH:MM");
    start_min = parse_hhmm(std::string_view(hours).substr(0, dash));
    end_min = parse_hhmm(std::string_view(hours).substr(dash + 1));
    if (start_min < 0 || end_min < 0 || start_min == end_min)
      throw std::runtime_error("business_hours: expected HH:MM-HH:MM, got " + hours);
    std::string spec = days_spec.empty() ? "Mon-Fri" : days_spec;
    std::string_view rest(spec);
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      size_t d = item.find('-');
      int a = day_index(item.substr(0, d));
      int b = d == std::string_view::npos ? a : day_index(item.substr(d + 1));
      if (a < 0 || b < 0) throw std::runtime_error("business_days: bad day in " + spec);
      for (int i = a;; i = (i + 1) % 7) {
        days[static_cast<size_t>(i)] = true;
        if (i == b) break;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    active = true;
  }
  // `local_day` days since 1970-01-01 (a Thursday), `minute` of that day.
  bool inside(int64_t local_day, int minute) const {
    int wd = static_cast<int>(((local_day % 7) + 7 + 3) % 7);
    if (start_min < end_min)
      return days[static_cast<size_t>(wd)] && minute >= start_min && minute < end_min;
    // night shift: the part after midnight belongs to the previous day's shift
    if (minute >= start_min) return days[static_cast<size_t>(wd)];
    if (minute < end_min) return days[static_cast<size_t>((wd + 6) % 7)];
    return false;
  }
};

constexpr std::string_view kMagic = "THS3";

enum class op { read, write, del, batch_del, list, other };

op classify(std::string_view n) {
  auto is = [n](std::string_view name) { return util::equals(n, name); };  // inline compares
  if (is("GetObject") || is("SelectObjectContent")) return op::read;
  if (is("PutObject") || is("CopyObject") || is("CreateMultipartUpload") || is("UploadPart") ||
      is("UploadPartCopy") || is("CompleteMultipartUpload") || is("RestoreObject"))
    return op::write;
  if (is("DeleteObject")) return op::del;
  if (is("DeleteObjects")) return op::batch_del;
  if (is("ListObjects") || is("ListObjectsV2") || is("ListObjectVersions")) return op::list;
  return op::other;
}

// ------------------------------------------------------------------------------------------
// The detector
// ------------------------------------------------------------------------------------------
class s3_access final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "s3-access",
        "1.0.0",
        "Unusual S3 data access",
        "Learns which buckets each identity touches, how much it reads, deletes and rewrites "
        "per window, when it works and which networks move large volumes; reports first "
        "ListBuckets, access to never-touched buckets, mass reads and deletes beyond history, "
        "SSE-C rewrites (ransomware), off-hours access by business-hours identities and large "
        "transfers to addresses outside AWS and trusted_cidrs. Needs S3 data events.",
        {{"s3.amazonaws.com", "*"}},
        {
            {"warmup", TH_PARAM_DURATION, "\"7d\"",
             "Event time an account must have been observed (S3 events) before baseline rules "
             "report in it.",
             true, 0, 31536000},
            {"window", TH_PARAM_DURATION, "\"1h\"",
             "Window (aligned to multiples of it in UTC) for object, byte, delete and SSE-C "
             "counts.",
             true, 300, 86400},
            {"history_factor", TH_PARAM_DOUBLE, "3.0",
             "A window is unusual above history_factor x the identity's largest window on that "
             "bucket (and above the floors).",
             true, 1, 1000},
            {"floor_objects", TH_PARAM_INT, "1000",
             "GetObject count per identity, bucket and window below which a read is never mass.",
             true, 1, 1000000000},
            {"floor_bytes", TH_PARAM_INT, "1073741824",
             "bytesTransferredOut per identity, bucket and window below which a read is never "
             "mass (1 GiB).",
             true, 1, 1e15},
            {"absolute_objects", TH_PARAM_INT, "0",
             "GetObject count per identity, bucket and window that is always reported, history "
             "or not, warm-up or not. 0 = off.",
             true, 0, 1000000000},
            {"absolute_bytes", TH_PARAM_INT, "0",
             "bytesTransferredOut per identity, bucket and window that is always reported. "
             "0 = off.",
             true, 0, 1e15},
            {"floor_deletes", TH_PARAM_INT, "500",
             "DeleteObject calls per identity, bucket and window below which deletion is never "
             "mass.",
             true, 1, 1000000000},
            {"floor_delete_batches", TH_PARAM_INT, "20",
             "DeleteObjects (batch, up to 1000 keys each, the keys are not logged) calls per "
             "identity, bucket and window below which deletion is never mass.",
             true, 1, 1000000000},
            {"ssec_threshold", TH_PARAM_INT, "20",
             "PutObject/CopyObject calls with a customer-provided key (SSE-C) per identity, "
             "bucket and window that count as a ransomware rewrite (also above "
             "history_factor x its history).",
             true, 1, 1000000000},
            {"external_transfer_bytes", TH_PARAM_INT, "1073741824",
             "bytesTransferredOut to one public source address outside trusted_cidrs per window "
             "that is reported (also above history_factor x that network's history). 0 = off.",
             true, 0, 1e15},
            {"sensitive_bucket_patterns", TH_PARAM_STRING_LIST, "[]",
             "Bucket name globs ('*', '?', case-insensitive) of sensitive buckets: new-identity "
             "access, mass reads and deletes there are one severity higher.",
             false, 0, 0},
            {"business_hours", TH_PARAM_STRING, "\"\"",
             "Local business hours \"HH:MM-HH:MM\" (e.g. \"08:00-19:00\"); empty = the off-hours "
             "rule is inactive.",
             false, 0, 0},
            {"business_days", TH_PARAM_STRING, "\"Mon-Fri\"",
             "Business days: a range (\"Mon-Fri\", \"Sun-Thu\") or a list (\"Mon,Wed,Fri\").",
             false, 0, 0},
            {"timezone", TH_PARAM_STRING, "\"+00:00\"",
             "Time zone of business_hours: a fixed UTC offset (\"+01:00\", \"-05:30\", \"UTC\") or "
             "an IANA name (\"Europe/Berlin\") read from /usr/share/zoneinfo.",
             false, 0, 0},
            {"business_min_history", TH_PARAM_INT, "40",
             "Active hours of history an identity needs before its off-hours access is judged.",
             true, 1, 1000000},
            {"business_share", TH_PARAM_DOUBLE, "0.95",
             "Share of an identity's active hours inside business hours that makes it a "
             "business-hours identity.",
             true, 0.5, 1},
            {"retention", TH_PARAM_DURATION, "\"90d\"",
             "Baseline entries not seen for this long are forgotten.", true, 86400, 315360000},
        },
        {
            {"first-list-buckets", severity::medium,
             "Identity listed all buckets for the first time", "T1619,T1580",
             "ListBuckets by an identity never seen listing buckets, after the account's warm-up. "
             "Denied attempts count (probing)."},
            {"new-bucket-access", severity::medium, "Identity accessed a bucket it never touched",
             "T1530",
             "GetObject/PutObject/DeleteObject (and batch, copy, multipart) on a bucket the "
             "identity never touched, after warm-up; once per identity and bucket."},
            {"mass-read", severity::medium, "Unusual volume read from a bucket", "T1530,T1537",
             "GetObject count or bytesTransferredOut per identity, bucket and window above "
             "max(floor, history_factor x the identity's largest window on that bucket), after "
             "warm-up; or above the absolute thresholds at any time."},
            {"mass-delete", severity::high, "Unusual number of object deletions", "T1485",
             "DeleteObject or DeleteObjects calls per identity, bucket and window above "
             "max(floor, history_factor x history), after warm-up."},
            {"sse-c-rewrite", severity::critical,
             "Objects rewritten with a customer-provided key (SSE-C)", "T1486",
             "PutObject/CopyObject with SSE-C per identity, bucket and window at or above "
             "max(ssec_threshold, history_factor x history): the S3 ransomware pattern."},
            {"off-hours-access", severity::medium, "S3 access outside business hours", "T1078.004",
             "S3 access outside business_hours/business_days by an identity whose history is "
             "at least business_share inside them; once per identity and local day."},
            {"large-transfer-external", severity::high,
             "Large transfer to an address outside AWS and trusted networks", "T1537,T1567",
             "bytesTransferredOut to one public, untrusted source address per window above "
             "max(external_transfer_bytes, history_factor x that network's history)."},
        },
        1};
    return i;
  }

  s3_access(const context& ctx, const config& cfg)
      : detector(ctx),
        warmup_ms_(cfg.get_duration_ms("warmup")),
        window_ms_(cfg.get_duration_ms("window")),
        factor_(cfg.get_double("history_factor")),
        floor_objects_(static_cast<uint64_t>(cfg.get_int("floor_objects"))),
        floor_bytes_(static_cast<uint64_t>(cfg.get_int("floor_bytes"))),
        abs_objects_(static_cast<uint64_t>(cfg.get_int("absolute_objects"))),
        abs_bytes_(static_cast<uint64_t>(cfg.get_int("absolute_bytes"))),
        floor_deletes_(static_cast<uint64_t>(cfg.get_int("floor_deletes"))),
        floor_batches_(static_cast<uint64_t>(cfg.get_int("floor_delete_batches"))),
        ssec_threshold_(static_cast<uint64_t>(cfg.get_int("ssec_threshold"))),
        external_bytes_(static_cast<uint64_t>(cfg.get_int("external_transfer_bytes"))),
        sensitive_(cfg.get_list("sensitive_bucket_patterns")),
        hours_(cfg.get_string("business_hours"), cfg.get_string("business_days")),
        tz_(cfg.get_string("timezone")),
        hours_spec_(cfg.get_string("business_hours")),
        min_history_(static_cast<uint32_t>(cfg.get_int("business_min_history"))),
        share_(cfg.get_double("business_share")),
        retention_ms_(cfg.get_duration_ms("retention")) {}

  void on_event(const event& e) override {
    if (e.aws_service()) return;  // log delivery, replication, lifecycle, inventory...
    const int64_t t = e.time_ms();
    accounts_.note(e.recipient_account(), t);
    std::string_view name = e.name();
    if (util::equals(name, "ListBuckets")) {
      on_list_buckets(e);
      return;
    }
    if (util::equals(name, "CreateBucket")) {
      on_create_bucket(e);
      return;
    }
    // data events (older records lack eventCategory: managementEvent false then)
    if (!util::equals(e.category(), "Data") &&
        !(e.category().empty() && e.raw().management_event == TH_FLAG_FALSE))
      return;
    op kind = classify(name);
    const value req = e.request();  // looked up once, read several times below
    std::string_view bucket = req["bucketName"].str();
    if (bucket.empty()) return;
    std::string_view shared = e["sharedEventID"].str();
    if (!shared.empty() && duplicate(bl::hash64(shared))) return;  // logged in both accounts
    const std::string_view id = identity_key(e);
    if (id.empty()) return;
    identity_state* st = identity(id);
    if (!st) return;
    on_data(e, req, id, *st, kind, bucket);
  }

  void on_tick(int64_t now_ms) override {
    for (auto it = windows_.begin(); it != windows_.end();) {
      if (now_ms >= (it->second.window + 1) * window_ms_ + kDisorderMs) {
        commit(it->second);
        it = windows_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = ip_windows_.begin(); it != ip_windows_.end();) {
      if (now_ms >= (it->second.window + 1) * window_ms_ + kDisorderMs) {
        commit_ip(it->first, it->second);
        it = ip_windows_.erase(it);
      } else {
        ++it;
      }
    }
    if (now_ms >= next_sweep_ms_) {
      if (next_sweep_ms_ != 0) sweep(now_ms);
      next_sweep_ms_ = now_ms + kDayMs;
    }
  }

  void on_flush() override {
    for (auto& [_, w] : windows_) commit(w);
    windows_.clear();
    for (auto& [ip, w] : ip_windows_) commit_ip(ip, w);
    ip_windows_.clear();
  }

  // --------------------------------------------------------------------------------------
  // Persistence (schema 1)
  std::string save_state() const override {
    bl::writer w;
    w.s(kMagic);
    w.u(1);
    w.u(accounts_.first_ms().size());
    for (auto& [a, first] : accounts_.first_ms()) {
      w.s(a);
      w.i(first);
    }
    w.u(ids_.size());
    for (auto& [key, st] : ids_) {
      w.s(key);
      w.u(st.last_hour);
      w.u(st.last_active_hour);
      w.u(st.listed_hour);
      for (uint16_t c : st.how) w.u(c);
      w.u(st.buckets.size());
      for (auto& [hash, b] : st.buckets) {
        w.h(hash);
        w.u(b.last_hour);
        w.u(b.windows);
        w.u(b.max_reads);
        w.u(b.max_bytes_out);
        w.u(b.max_deletes);
        w.u(b.max_batches);
        w.u(b.max_ssec);
      }
    }
    w.u(buckets_.size());
    for (auto& [hash, b] : buckets_) {
      w.h(hash);
      w.u(b.first_hour);
      w.u(b.last_hour);
    }
    w.u(nets_.size());
    for (auto& [hash, n] : nets_) {
      w.h(hash);
      w.u(n.max_bytes);
      w.u(n.last_hour);
    }
    return w.take();
  }

  void load_state(uint32_t schema_version, std::string_view data) override {
    if (schema_version != 1) throw std::runtime_error("s3-access state: unknown schema");
    bl::reader r(data, "s3-access state");
    if (r.s() != kMagic || r.u() != 1) throw std::runtime_error("s3-access state: bad header");
    string_map<int64_t> accounts;
    decltype(ids_) ids;
    decltype(buckets_) buckets;
    decltype(nets_) nets;
    uint64_t n = r.count_at_most(kMaxAccounts);
    for (uint64_t k = 0; k < n; ++k) {
      std::string a = r.s();
      accounts[a] = r.i();
    }
    n = r.count_at_most(kMaxIdentities);
    for (uint64_t k = 0; k < n; ++k) {
      std::string key = r.s();
      identity_state st;
      st.last_hour = r.u32();
      st.last_active_hour = r.u32();
      st.listed_hour = r.u32();
      for (auto& c : st.how) c = static_cast<uint16_t>(std::min<uint64_t>(r.u(), UINT16_MAX));
      uint64_t nb = r.count_at_most(kBucketsPerIdentity);
      st.buckets.reserve(nb);
      for (uint64_t j = 0; j < nb; ++j) {
        uint64_t hash = r.h();
        bucket_hist b;
        b.last_hour = r.u32();
        b.windows = r.u32();
        b.max_reads = r.u();
        b.max_bytes_out = r.u();
        b.max_deletes = r.u();
        b.max_batches = r.u();
        b.max_ssec = r.u();
        st.buckets.emplace_back(hash, b);
      }
      std::sort(st.buckets.begin(), st.buckets.end(),
                [](auto& a, auto& b) { return a.first < b.first; });
      ids.emplace(std::move(key), std::move(st));
    }
    n = r.count_at_most(kMaxBuckets);
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t hash = r.h();
      bucket_global b;
      b.first_hour = r.u32();
      b.last_hour = r.u32();
      buckets[hash] = b;
    }
    n = r.count_at_most(kMaxNetworks);
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t hash = r.h();
      net_hist nh;
      nh.max_bytes = r.u();
      nh.last_hour = r.u32();
      nets[hash] = nh;
    }
    if (!r.done()) throw std::runtime_error("s3-access state: trailing bytes");
    accounts_.replace(std::move(accounts));
    recent_ids_.clear();
    ids_ = std::move(ids);
    buckets_ = std::move(buckets);
    nets_ = std::move(nets);
  }

 private:
  struct bucket_hist {
    uint32_t last_hour = 0;
    uint32_t windows = 0;  // windows with activity committed to history
    uint64_t max_reads = 0, max_bytes_out = 0, max_deletes = 0, max_batches = 0, max_ssec = 0;
  };
  struct identity_state {
    std::vector<std::pair<uint64_t, bucket_hist>> buckets;  // sorted by hash(bucket)
    std::array<uint16_t, 168> how{};  // active hours per UTC hour of week (Monday 00h = 0)
    uint32_t last_active_hour = 0;
    uint32_t last_hour = 0;
    uint32_t listed_hour = 0;          // 0 = never listed buckets
    int64_t offhours_day = INT64_MIN;  // transient: local day of the last off-hours finding
    // Transient: the identity's last bucket with hash64(bucket) and the window key
    // hash64_pair(identity, bucket). Identities mostly stay on one bucket, and hashing the
    // names byte by byte on every event was a large part of the cost of a data event.
    std::string hashed_bucket;
    uint64_t hashed_bh = 0, hashed_wk = 0;
    bool hashed = false;
  };
  struct bucket_global {
    uint32_t first_hour = 0, last_hour = 0;
  };
  struct net_hist {
    uint64_t max_bytes = 0;
    uint32_t last_hour = 0;
  };
  struct ev_ref {
    std::string id, name;
    int64_t time_ms;
  };
  struct window_agg {
    int64_t window = 0;
    std::string identity, bucket;
    uint64_t reads = 0, bytes_out = 0, deletes = 0, batches = 0, ssec = 0;
    bool fired_read = false, fired_delete = false, fired_ssec = false;
    std::vector<ev_ref> events;  // the first few, for the finding
    std::vector<std::string> ips, keys, names;
  };
  struct ip_agg {
    int64_t window = 0;
    uint64_t bytes = 0, objects = 0;
    bool fired = false;
    bool net_hash_known = false;  // net_hash = bl::hash64(network_of(address)) is set
    uint64_t net_hash = 0;
    std::vector<std::string> identities, buckets;
    std::vector<ev_ref> events;
  };

  // ---------------------------------------------------------------------------------------
  bool warmed(std::string_view acct, int64_t t) const {
    return accounts_.warmed(acct, t, warmup_ms_);
  }

  // The identity key of `e`: e.identity(), or for a bare account caller a key built in a buffer
  // reused for every event (no copy, no allocation). Valid until the next call.
  std::string_view identity_key(const event& e) {
    std::string& k = key_buf_;
    std::string_view type = e.identity_type();
    if (util::equals(type, "AWSAccount")) {
      std::string_view acct = e.principal_account();
      if (acct == "anonymous" || e.principal_id() == "ANONYMOUS_PRINCIPAL") {
        k.assign("anonymous");
        return k;
      }
      std::string_view pid = e.principal_id();
      pid = pid.substr(0, pid.find(':'));
      k.assign("account:").append(acct).append("|").append(pid);
      return k;
    }
    return e.identity();
  }

  identity_state* identity(std::string_view key) {
    if (identity_state* const* hit = recent_ids_.find(key)) return *hit;
    auto it = ids_.find(key);
    if (it == ids_.end()) {
      if (ids_.size() >= kMaxIdentities) evict_identities();
      if (ids_.size() >= kMaxIdentities) return nullptr;
      it = ids_.emplace(std::string(key), identity_state{}).first;
    }
    recent_ids_.put(key, &it->second);
    return &it->second;
  }

  static bucket_hist* find_bucket(identity_state& st, uint64_t h) {
    auto it = std::lower_bound(st.buckets.begin(), st.buckets.end(), h,
                               [](auto& p, uint64_t v) { return p.first < v; });
    return it != st.buckets.end() && it->first == h ? &it->second : nullptr;
  }
  static bucket_hist& touch_bucket(identity_state& st, uint64_t h, uint32_t hour) {
    auto it = std::lower_bound(st.buckets.begin(), st.buckets.end(), h,
                               [](auto& p, uint64_t v) { return p.first < v; });
    if (it == st.buckets.end() || it->first != h) {
      if (st.buckets.size() >= kBucketsPerIdentity) {
        auto oldest = std::min_element(st.buckets.begin(), st.buckets.end(), [](auto& a, auto& b) {
          return a.second.last_hour < b.second.last_hour;
        });
        bool before = oldest < it;
        st.buckets.erase(oldest);
        if (before) --it;
      }
      it = st.buckets.insert(it, {h, bucket_hist{}});
    }
    it->second.last_hour = std::max(it->second.last_hour, hour);
    return it->second;
  }

  bool duplicate(uint64_t key) { return dedup_.seen_before(key); }

  bool sensitive(std::string_view bucket) const {
    for (auto& p : sensitive_)
      if (util::glob_match(p, bucket, util::match_case::insensitive)) return true;
    return false;
  }

  void adjust_for_principal(const event& e, finding& f) const {
    util::lower_for_known_principal(ctx(), e, f);
  }

  void add_caller(finding& f, const event& e, std::string_view id) const {
    f.ev.add("identity", id).add("identityType", e.identity_type());
    if (!e.principal_arn().empty() && e.principal_arn() != id)
      f.ev.add("principalArn", e.principal_arn());
    f.ev.add("sourceIPAddress", e.source_ip()).add("userAgent", e.user_agent());
  }

  // UTC hour of week, Monday 00h = 0.
  static size_t hour_of_week(int64_t t) {
    int64_t day = floor_div(t, kDayMs);
    int64_t wd = ((day % 7) + 7 + 3) % 7;
    int64_t h = floor_div(t - day * kDayMs, kHourMs);
    return static_cast<size_t>(wd * 24 + h);
  }
  bool in_business_hours(int64_t t) const {
    int64_t local = t + tz_.offset_ms(t);
    int64_t day = floor_div(local, kDayMs);
    int minute = static_cast<int>((local - day * kDayMs) / kMinuteMs);
    return hours_.inside(day, minute);
  }
  // Share of an identity's active hours inside business hours (mapped with today's offset).
  double business_share(const identity_state& st, int64_t t, uint32_t* total_out) const {
    const int64_t off_min = tz_.offset_ms(t) / kMinuteMs;
    uint64_t in = 0, total = 0;
    for (size_t i = 0; i < st.how.size(); ++i) {
      if (!st.how[i]) continue;
      total += st.how[i];
      int64_t local_min = static_cast<int64_t>(i) * 60 + 30 + off_min;  // middle of the hour
      int64_t week_min = ((local_min % (7 * 1440)) + 7 * 1440) % (7 * 1440);
      // minute of week (Monday based) -> a day index with the same weekday (day 4 = Monday)
      int64_t day = 4 + week_min / 1440;
      if (hours_.inside(day, static_cast<int>(week_min % 1440))) in += st.how[i];
    }
    *total_out = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
    return total ? static_cast<double>(in) / static_cast<double>(total) : 0.0;
  }

  // ---------------------------------------------------------------------------------------
  void on_list_buckets(const event& e) {
    const int64_t t = e.time_ms();
    const std::string_view id = identity_key(e);
    if (id.empty()) return;
    identity_state* st = identity(id);
    if (!st) return;
    const uint32_t hour = bl::hour_u32(t);
    st->last_hour = std::max(st->last_hour, hour);
    if (st->listed_hour == 0 && warmed(e.recipient_account(), t)) {
      finding f = make_finding("first-list-buckets", e);
      if (console_session(e)) {
        f.sev = lower(f.sev);  // opening the S3 console lists buckets
        f.ev.add_bool("consoleSession", true);
      }
      f.summary = std::string(id) + " listed all buckets of account " +
                  std::string(e.recipient_account()) + " for the first time" +
                  (e.failed() ? " (denied: " + std::string(e.error_code()) + ")" : "") + ".";
      add_caller(f, e, id);
      if (e.failed()) f.ev.add("errorCode", e.error_code());
      f.ev.add("knownBuckets", static_cast<uint64_t>(st->buckets.size()));
      f.dedup_key = std::string(id);
      adjust_for_principal(e, f);
      emit(f);
    }
    st->listed_hour = std::max<uint32_t>(st->listed_hour, std::max<uint32_t>(hour, 1));
    if (e.succeeded()) note_activity(*st, t);
  }

  void on_create_bucket(const event& e) {
    if (e.failed()) return;
    std::string_view bucket = e.request()["bucketName"].str();
    if (bucket.empty()) return;
    const int64_t t = e.time_ms();
    const uint32_t hour = bl::hour_u32(t);
    uint64_t bh = bl::hash64(bucket);
    note_bucket(bh, hour);
    const std::string_view id = identity_key(e);
    if (identity_state* st = id.empty() ? nullptr : identity(id)) {
      touch_bucket(*st, bh, hour);  // the creator owns it: its first objects are not news
      st->last_hour = std::max(st->last_hour, hour);
    }
  }

  void note_bucket(uint64_t bh, uint32_t hour) {
    auto it = buckets_.find(bh);
    if (it == buckets_.end()) {
      if (buckets_.size() >= kMaxBuckets) evict_oldest_tenth(buckets_);
      buckets_.emplace(bh, bucket_global{hour, hour});
    } else {
      it->second.first_hour = std::min(it->second.first_hour, hour);
      it->second.last_hour = std::max(it->second.last_hour, hour);
    }
  }

  void note_activity(identity_state& st, int64_t t) {
    uint32_t hour = bl::hour_u32(t);
    if (hour == st.last_active_hour) return;
    st.last_active_hour = hour;
    uint16_t& c = st.how[hour_of_week(t)];
    if (c < UINT16_MAX) ++c;
  }

  // ---------------------------------------------------------------------------------------
  void on_data(const event& e, const value& req, std::string_view id, identity_state& st, op kind,
               std::string_view bucket) {
    const int64_t t = e.time_ms();
    const uint32_t hour = bl::hour_u32(t);
    const bool ok = e.succeeded();
    const bool warm = warmed(e.recipient_account(), t);
    const bool sens = sensitive(bucket);
    if (!st.hashed || bucket != st.hashed_bucket) {
      st.hashed_bucket.assign(bucket);
      st.hashed_bh = bl::hash64(bucket);
      st.hashed_wk = bl::hash64_pair(id, bucket);
      st.hashed = true;
    }
    const uint64_t bh = st.hashed_bh;
    st.last_hour = std::max(st.last_hour, hour);

    // Off-hours access (checked before this hour counts as history).
    if (ok && hours_.active && warm) check_off_hours(e, id, st, bucket, sens);

    const bool object_op =
        kind == op::read || kind == op::write || kind == op::del || kind == op::batch_del;
    auto gb = buckets_.find(bh);
    // first seen less than a day ago (by anyone): a bucket being set up
    const bool bucket_new_in_account = gb != buckets_.end() && gb->second.first_hour + 24 > hour;
    if (ok) {
      if (gb != buckets_.end()) {  // what note_bucket does, without a second lookup
        gb->second.first_hour = std::min(gb->second.first_hour, hour);
        gb->second.last_hour = std::max(gb->second.last_hour, hour);
      } else {
        note_bucket(bh, hour);
      }
    }

    if (ok && object_op) {
      bucket_hist* b = find_bucket(st, bh);
      if (!b && warm) report_new_bucket(e, id, st, bucket, sens, bucket_new_in_account);
      touch_bucket(st, bh, hour);
    }
    if (ok) note_activity(st, t);
    if (!ok || !object_op) return;

    // Windowed counts.
    const int64_t w = floor_div(t, window_ms_);
    const uint64_t wk = st.hashed_wk;
    auto it = windows_.find(wk);
    if (it == windows_.end()) {
      if (windows_.size() >= kMaxWindows) {
        ctx().count("s3_windows_dropped");
        return;
      }
      it = windows_.emplace(wk, window_agg{}).first;
      start_window(it->second, w, id, bucket);
    } else if (w > it->second.window) {
      commit(it->second);
      start_window(it->second, w, id, bucket);
    }
    window_agg& a = it->second;
    value add = e.additional();
    const uint64_t out =
        static_cast<uint64_t>(std::max<int64_t>(0, add["bytesTransferredOut"].as_int(0)));
    bool ssec = false;
    switch (kind) {
      case op::read:
        ++a.reads;
        break;
      case op::del:
        ++a.deletes;
        break;
      case op::batch_del:
        ++a.batches;
        break;
      case op::write: {
        ssec = req["x-amz-server-side-encryption-customer-algorithm"].exists() ||
               req["SSECustomerAlgorithm"].exists() || add["SSECustomerAlgorithm"].exists() ||
               add["SSEApplied"].str() == "SSE_C";
        if (ssec) ++a.ssec;
        break;
      }
      default:
        break;
    }
    a.bytes_out += out;
    if (a.events.size() < kFirstEvents)
      a.events.push_back(ev_ref{std::string(e.id()), std::string(e.name()), t});
    auto sample = [](std::vector<std::string>& v, std::string_view s) {
      if (!s.empty() && v.size() < kSamplesPerFinding && !util::contains(v, s)) v.emplace_back(s);
    };
    sample(a.ips, e.source_ip());
    if (a.keys.size() < kSamplesPerFinding) sample(a.keys, req["key"].str());  // lookup if needed
    sample(a.names, e.name());

    bucket_hist* hist = find_bucket(st, bh);
    check_window(e, id, a, hist, warm, sens);
    if (out > 0) note_ip_transfer(e, id, bucket, w, out);
  }

  void start_window(window_agg& a, int64_t w, std::string_view id, std::string_view bucket) {
    a = window_agg{};
    a.window = w;
    a.identity = id;
    a.bucket = std::string(bucket);
    a.events.reserve(kFirstEvents);  // filled to that: one allocation instead of regrowths
  }

  // Closes a window into the identity's history of that bucket.
  void commit(const window_agg& a) {
    auto it = ids_.find(a.identity);
    if (it == ids_.end()) return;
    bucket_hist& b =
        touch_bucket(it->second, bl::hash64(a.bucket), bl::hour_u32(a.window * window_ms_));
    ++b.windows;
    b.max_reads = std::max(b.max_reads, a.reads);
    b.max_bytes_out = std::max(b.max_bytes_out, a.bytes_out);
    b.max_deletes = std::max(b.max_deletes, a.deletes);
    b.max_batches = std::max(b.max_batches, a.batches);
    b.max_ssec = std::max(b.max_ssec, a.ssec);
  }

  uint64_t limit(uint64_t floor, uint64_t hist_max) const {
    double k = static_cast<double>(hist_max) * factor_;
    return std::max<uint64_t>(floor, static_cast<uint64_t>(k));
  }

  finding window_finding(const char* rule, const event& e, const window_agg& a) const {
    finding f = make_finding(rule, e);
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    for (auto& r : a.events) f.with_event(r.id, r.name, r.time_ms);
    if (a.events.size() >= kFirstEvents) f.with_event(e);  // the event that crossed
    f.ev.add("identity", a.identity).add("identityType", e.identity_type());
    f.ev.add("bucketName", a.bucket);
    f.ev.add("windowStart", a.window * window_ms_ / 1000);
    f.ev.add("windowSeconds", window_ms_ / 1000);
    f.ev.add("sourceIPAddresses", a.ips);
    if (!a.keys.empty()) f.ev.add("sampleKeys", a.keys);
    f.ev.add("eventNames", a.names);
    f.dedup_key = a.identity + "|" + a.bucket + "|" + std::to_string(a.window);
    return f;
  }

  void check_window(const event& e, std::string_view id, window_agg& a, const bucket_hist* hist,
                    bool warm, bool sens) {
    const uint64_t h_reads = hist ? hist->max_reads : 0, h_bytes = hist ? hist->max_bytes_out : 0;
    const uint32_t h_windows = hist ? hist->windows : 0;
    // mass read
    if (!a.fired_read) {
      const uint64_t lim_reads = limit(floor_objects_, h_reads);
      const uint64_t lim_bytes = limit(floor_bytes_, h_bytes);
      const bool base = warm && (a.reads > lim_reads || a.bytes_out > lim_bytes);
      const bool absolute =
          (abs_objects_ && a.reads >= abs_objects_) || (abs_bytes_ && a.bytes_out >= abs_bytes_);
      if (base || absolute) {
        a.fired_read = true;
        finding f = window_finding("mass-read", e, a);
        if (absolute) f.sev = severity::high;
        if (sens) {
          f.sev = raise(f.sev);
          f.ev.add_bool("sensitiveBucket", true);
        }
        f.summary = std::string(id) + " read " + std::to_string(a.reads) + " objects (" +
                    gib(a.bytes_out) + ") from bucket " + a.bucket +
                    " within one window; its largest window there " + "so far was " +
                    std::to_string(h_reads) + " objects (" + gib(h_bytes) + ").";
        f.ev.add("objectsRead", a.reads).add("bytesTransferredOut", a.bytes_out);
        f.ev.add("historyMaxObjects", h_reads).add("historyMaxBytes", h_bytes);
        f.ev.add("historyWindows", static_cast<uint64_t>(h_windows));
        f.ev.add("thresholdObjects", lim_reads).add("thresholdBytes", lim_bytes);
        f.ev.add_bool("absoluteThreshold", absolute);
        adjust_for_principal(e, f);
        emit(f);
      }
    }
    // mass delete
    if (!a.fired_delete && warm) {
      const uint64_t h_del = hist ? hist->max_deletes : 0, h_bat = hist ? hist->max_batches : 0;
      const uint64_t lim_del = limit(floor_deletes_, h_del), lim_bat = limit(floor_batches_, h_bat);
      if (a.deletes > lim_del || a.batches > lim_bat) {
        a.fired_delete = true;
        finding f = window_finding("mass-delete", e, a);
        if (sens) {
          f.sev = raise(f.sev);
          f.ev.add_bool("sensitiveBucket", true);
        }
        f.summary = std::string(id) + " deleted " + std::to_string(a.deletes) +
                    " objects one by one and made " + std::to_string(a.batches) +
                    " batch deletions (DeleteObjects) in bucket " + a.bucket +
                    " within one window; history: " + std::to_string(h_del) + " / " +
                    std::to_string(h_bat) + ".";
        f.ev.add("deleteObjectCalls", a.deletes).add("deleteObjectsCalls", a.batches);
        f.ev.add("historyMaxDeletes", h_del).add("historyMaxBatches", h_bat);
        f.ev.add("thresholdDeletes", lim_del).add("thresholdBatches", lim_bat);
        adjust_for_principal(e, f);
        emit(f);
      }
    }
    // SSE-C rewrites
    if (!a.fired_ssec && a.ssec > 0) {
      const uint64_t h_ssec = hist ? hist->max_ssec : 0;
      const uint64_t lim = limit(ssec_threshold_, h_ssec);
      if (a.ssec >= lim && (h_ssec == 0 || a.ssec > lim)) {
        a.fired_ssec = true;
        finding f = window_finding("sse-c-rewrite", e, a);
        if (sens) f.ev.add_bool("sensitiveBucket", true);
        f.summary = std::string(id) + " wrote " + std::to_string(a.ssec) + " objects of bucket " +
                    a.bucket +
                    " with a customer-provided encryption key (SSE-C) within one window: "
                    "without that key the data cannot be read (S3 ransomware pattern).";
        f.ev.add("sseCustomerKeyWrites", a.ssec).add("historyMaxSseC", h_ssec);
        f.ev.add("threshold", lim);
        f.ev.add("x-amz-server-side-encryption-customer-algorithm",
                 e.request()["x-amz-server-side-encryption-customer-algorithm"].str());
        adjust_for_principal(e, f);
        emit(f);
      }
    }
  }

  void report_new_bucket(const event& e, std::string_view id, const identity_state& st,
                         std::string_view bucket, bool sens, bool bucket_new) {
    finding f = make_finding("new-bucket-access", e);
    if (bucket_new) {
      f.sev = lower(f.sev);  // a bucket nobody used before: being set up
      f.ev.add_bool("bucketNewInAccount", true);
    }
    if (sens) {
      f.sev = raise(f.sev);
      f.ev.add_bool("sensitiveBucket", true);
    }
    std::string_view key = e.request()["key"].str();
    f.summary = std::string(id) + " called " + std::string(e.name()) + " on bucket " +
                std::string(bucket) + ", which it never touched before (" +
                std::to_string(st.buckets.size()) + " known buckets).";
    add_caller(f, e, id);
    f.ev.add("bucketName", bucket);
    if (!key.empty()) f.ev.add("key", key);
    f.ev.add("eventName", e.name());
    f.ev.add("knownBuckets", static_cast<uint64_t>(st.buckets.size()));
    f.dedup_key = std::string(id) + "|" + std::string(bucket);
    adjust_for_principal(e, f);
    emit(f);
  }

  void check_off_hours(const event& e, std::string_view id, identity_state& st,
                       std::string_view bucket, bool sens) {
    const int64_t t = e.time_ms();
    if (in_business_hours(t)) return;
    const int64_t local = t + tz_.offset_ms(t);
    const int64_t day = floor_div(local, kDayMs);
    if (st.offhours_day == day) return;
    uint32_t total = 0;
    double share = business_share(st, t, &total);
    if (total < min_history_ || share < share_) return;
    st.offhours_day = day;
    finding f = make_finding("off-hours-access", e);
    if (sens) {
      f.sev = raise(f.sev);
      f.ev.add_bool("sensitiveBucket", true);
    }
    int minute = static_cast<int>((local - day * kDayMs) / kMinuteMs);
    char lt[16];
    std::snprintf(lt, sizeof lt, "%02d:%02d", minute / 60, minute % 60);
    static const char* wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    std::string local_time = std::string(wd[((day % 7) + 7 + 3) % 7]) + " " + lt;
    f.summary = std::string(id) + " accessed bucket " + std::string(bucket) + " at " + local_time +
                " local time, outside business hours (" + hours_spec_ + "); " +
                std::to_string(static_cast<int>(share * 100)) + "% of its " +
                std::to_string(total) + " active hours were inside them.";
    add_caller(f, e, id);
    f.ev.add("bucketName", bucket).add("eventName", e.name());
    f.ev.add("localTime", local_time).add("businessHours", hours_spec_);
    f.ev.add("timezone", tz_.name());
    f.ev.add("historyActiveHours", static_cast<uint64_t>(total));
    f.ev.add("historyInHoursPercent", static_cast<int64_t>(share * 100));
    f.dedup_key = std::string(id) + "|" + std::to_string(day);
    adjust_for_principal(e, f);
    emit(f);
  }

  // ---------------------------------------------------------------------------------------
  // Large transfers to one outside address.
  void note_ip_transfer(const event& e, std::string_view id, std::string_view bucket, int64_t w,
                        uint64_t bytes) {
    if (external_bytes_ == 0) return;
    std::string_view ip = e.source_ip();
    if (!public_ip(ip)) return;
    if (ctx().trusted_cidrs_known() && ctx().is_trusted_ip(ip)) return;
    auto it = ip_windows_.find(ip);
    if (it == ip_windows_.end()) {
      if (ip_windows_.size() >= kMaxIpWindows) return;
      it = ip_windows_.emplace(std::string(ip), ip_agg{}).first;
      it->second.window = w;
    } else if (w > it->second.window) {
      commit_ip(it->first, it->second);
      it->second = ip_agg{};
      it->second.window = w;
    }
    ip_agg& a = it->second;
    a.bytes += bytes;
    ++a.objects;
    if (a.events.size() < kFirstEvents)
      a.events.push_back(ev_ref{std::string(e.id()), std::string(e.name()), e.time_ms()});
    if (a.identities.size() < kSamplesPerFinding && !util::contains(a.identities, id))
      a.identities.emplace_back(id);
    if (a.buckets.size() < kSamplesPerFinding && !util::contains(a.buckets, bucket))
      a.buckets.emplace_back(bucket);
    if (a.fired) return;
    // The network's hash depends on the address only: computed once per address and window.
    if (!a.net_hash_known) {
      a.net_hash = bl::hash64(network_of(ip));
      a.net_hash_known = true;
    }
    auto n = nets_.find(a.net_hash);
    const uint64_t h = n == nets_.end() ? 0 : n->second.max_bytes;
    const uint64_t lim = limit(external_bytes_, h);
    if (a.bytes <= lim) return;
    a.fired = true;
    finding f = make_finding("large-transfer-external", e);
    f.event_ids.clear();
    f.event_names.clear();
    f.first_seen_ms = f.last_seen_ms = 0;
    for (auto& r : a.events) f.with_event(r.id, r.name, r.time_ms);
    if (a.events.size() >= kFirstEvents) f.with_event(e);  // the event that crossed
    if (!ctx().trusted_cidrs_known()) {
      f.sev = lower(f.sev);  // without trusted_cidrs an office download looks the same
      f.ev.add_bool("trustedCidrsKnown", false);
    }
    f.summary = std::string(ip) + " downloaded " + gib(a.bytes) + " in " +
                std::to_string(a.objects) + " requests within one window; it is a public address " +
                "outside AWS and outside trusted_cidrs.";
    f.ev.add("sourceIPAddress", ip).add("sourceNetwork", network_of(ip));
    f.ev.add("bytesTransferredOut", a.bytes).add("requests", a.objects);
    f.ev.add("identities", a.identities).add("bucketNames", a.buckets);
    f.ev.add("historyMaxBytes", h).add("thresholdBytes", lim);
    f.ev.add("windowSeconds", window_ms_ / 1000);
    f.dedup_key = std::string(ip) + "|" + std::to_string(a.window);
    adjust_for_principal(e, f);
    emit(f);
  }

  void commit_ip(const std::string& ip, const ip_agg& a) {
    std::string net = network_of(ip);
    if (net.empty()) return;
    uint64_t nh = bl::hash64(net);
    auto it = nets_.find(nh);
    if (it == nets_.end()) {
      if (nets_.size() >= kMaxNetworks) evict_oldest_tenth(nets_);
      it = nets_.emplace(nh, net_hist{}).first;
    }
    it->second.max_bytes = std::max(it->second.max_bytes, a.bytes);
    it->second.last_hour = std::max(it->second.last_hour, bl::hour_u32(a.window * window_ms_));
  }

  // ---------------------------------------------------------------------------------------
  // Ageing and caps
  void sweep(int64_t now_ms) {
    const uint32_t min_hour = bl::hour_u32(now_ms - retention_ms_);
    recent_ids_.clear();  // identities may go
    for (auto it = ids_.begin(); it != ids_.end();) {
      auto& b = it->second.buckets;
      b.erase(std::remove_if(b.begin(), b.end(),
                             [&](auto& p) { return p.second.last_hour < min_hour; }),
              b.end());
      if (it->second.last_hour < min_hour)
        it = ids_.erase(it);
      else
        ++it;
    }
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = it->second.last_hour < min_hour ? buckets_.erase(it) : std::next(it);
    for (auto it = nets_.begin(); it != nets_.end();)
      it = it->second.last_hour < min_hour ? nets_.erase(it) : std::next(it);
  }

  template <class Map>
  static void evict_oldest_tenth(Map& m) {
    bl::evict_oldest_tenth(
        m, [](const auto& v) { return v.last_hour; }, bl::evict_ties::in_map_order);
  }
  void evict_identities() {
    recent_ids_.clear();
    evict_oldest_tenth(ids_);
  }

  // ---------------------------------------------------------------------------------------
  int64_t warmup_ms_;
  int64_t window_ms_;
  double factor_;
  uint64_t floor_objects_, floor_bytes_, abs_objects_, abs_bytes_, floor_deletes_, floor_batches_,
      ssec_threshold_, external_bytes_;
  std::vector<std::string> sensitive_;
  business_hours hours_;
  time_zone tz_;
  std::string hours_spec_;
  uint32_t min_history_;
  double share_;
  int64_t retention_ms_;

  // learned (persisted)
  util::account_first_seen accounts_{kMaxAccounts};  // account -> first S3 event
  string_map<identity_state> ids_;
  util::lookup_cache<identity_state*> recent_ids_;       // in front of ids_: clear() on erase
  std::unordered_map<uint64_t, bucket_global> buckets_;  // hash(bucket name)
  std::unordered_map<uint64_t, net_hist> nets_;          // hash(source network)

  // transient
  std::unordered_map<uint64_t, window_agg> windows_;  // hash(identity, bucket)
  string_map<ip_agg> ip_windows_;
  std::string key_buf_;  // identity_key()
  bl::recent_keys dedup_{kDedupRing};
  int64_t next_sweep_ms_ = 0;
};

}  // namespace

TRAILHOUND_MODULE("s3-access", "1.0.0", s3_access)
