// SPDX-License-Identifier: Apache-2.0
// The detector-author harness of testing.hpp: the real engine and parser, an in-process module.
#include <rapidjson/document.h>
#include <rapidjson/writer.h>

#include <stdexcept>
#include <trailhound/testing.hpp>

#include "cloudtrail/record_parser.hpp"
#include "cloudtrail/value_api.hpp"
#include "common/severity.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "findings/collector.hpp"
#include "plugins/binding.hpp"
#include "sinks/sink.hpp"

namespace trailhound::testing {
namespace {

// Copies each finding into the harness as it is written.
class capture_sink final : public sinks::sink {
 public:
  explicit capture_sink(std::vector<collected_finding>& out) : out_(out) {}
  void write(const findings::finding& f) override {
    collected_finding c;
    c.finding_id = f.finding_id;
    c.detector = f.detector;
    c.rule = f.rule;
    c.severity = severity_name(f.severity);
    c.title = f.title;
    c.summary = f.summary;
    c.account_id = f.account_id;
    c.region = f.region;
    c.principal = f.principal;
    c.source_ip = f.source_ip;
    c.user_agent = f.user_agent;
    c.event_ids = f.event_ids;
    c.event_names = f.event_names;
    c.mitre = f.mitre;
    c.first_seen = cloudtrail::format_time(f.first_seen_ms);
    c.last_seen = cloudtrail::format_time(f.last_seen_ms);
    c.evidence_json = f.evidence_json;
    c.json = findings::to_json(f);
    out_.push_back(std::move(c));
  }

 private:
  std::vector<collected_finding>& out_;
};

}  // namespace

struct harness::impl {
  plugins::module_info module;
  config::effective_config cfg = config::load_string("", "<harness>");
  std::vector<collected_finding> found;
  std::unique_ptr<findings::collector> out;
  std::unique_ptr<engine::engine> eng;
  cloudtrail::record_parser parser;
  bool started = false;
  bool finished = false;
};

harness::harness(th_module_entry_v1_fn entry) : impl_(std::make_unique<impl>()) {
  try {
    impl_->module = plugins::load_entry(entry, "<in-process>");
  } catch (const plugins::load_error& e) {
    throw std::runtime_error(std::string("module refused: ") + e.what());
  }
}

harness::~harness() = default;

harness& harness::config(std::string_view toml) {
  if (impl_->started) throw std::runtime_error("harness::config() after start()");
  config::merge_string(impl_->cfg, toml, "<harness config>");
  return *this;
}

void harness::start() {
  if (impl_->started) return;
  std::vector<detector_spec> specs;
  for (const auto& d : impl_->module.detectors) specs.push_back(d.spec);
  auto diags = config::validate(impl_->cfg, specs, /*strict=*/true);
  for (const auto& d : diags)
    if (d.lvl == config::diagnostic::error || d.lvl == config::diagnostic::warning)
      throw std::runtime_error("config: " + d.message);
  impl_->out = std::make_unique<findings::collector>(&impl_->cfg, impl_->cfg.global.environment);
  impl_->out->add_sink(std::make_unique<capture_sink>(impl_->found));
  engine::engine_options opts;
  opts.environment = impl_->cfg.global.environment;
  impl_->eng = std::make_unique<engine::engine>(impl_->cfg, *impl_->out, opts);
  impl_->eng->set_log_to_stderr(false);
  for (const auto& d : impl_->module.detectors) impl_->eng->add(d);
  auto problems = impl_->eng->start();
  if (!problems.empty()) throw std::runtime_error(problems.front());
  impl_->started = true;
}

void harness::feed(std::string_view record_json) {
  start();
  if (impl_->finished) throw std::runtime_error("harness::feed() after finish()");
  std::string raw(record_json);  // the event's raw_json must outlive the dispatch
  th_event ev;
  cloudtrail::parse_error err;
  if (!impl_->parser.parse(raw, ev, err))
    throw std::runtime_error("malformed record (offset " + std::to_string(err.offset) +
                             "): " + err.reason);
  impl_->eng->dispatch(ev);
  impl_->parser.reset();
}

void harness::feed(const std::vector<std::string>& records) {
  for (const auto& r : records) feed(r);
}

void harness::finish() {
  start();
  if (impl_->finished) return;
  impl_->eng->finish();
  impl_->finished = true;
}

const std::vector<collected_finding>& harness::findings() const { return impl_->found; }

std::vector<collected_finding> harness::findings(std::string_view rule) const {
  std::vector<collected_finding> out;
  for (const auto& f : impl_->found)
    if (f.rule == rule) out.push_back(f);
  return out;
}

size_t harness::count(std::string_view rule) const {
  size_t n = 0;
  for (const auto& f : impl_->found) n += f.rule == rule;
  return n;
}

std::vector<std::string> harness::errors() const {
  std::vector<std::string> out;
  if (!impl_->eng) return out;
  for (const auto& m : impl_->eng->messages()) out.push_back(m);
  for (const auto& s : impl_->eng->stats())
    if (s.quarantined) out.push_back(s.instance_id + ": quarantined: " + s.quarantine_reason);
  return out;
}

std::string harness::snapshot(std::string_view detector_id) {
  start();
  th_host_ctx* inst = impl_->eng->find(detector_id);
  if (!inst) throw std::runtime_error("no instance " + std::string(detector_id));
  std::string bytes;
  if (!impl_->eng->snapshot(*inst, bytes)) throw std::runtime_error("snapshot failed");
  return bytes;
}

void harness::restore(std::string_view detector_id, std::string_view bytes) {
  start();
  th_host_ctx* inst = impl_->eng->find(detector_id);
  if (!inst) throw std::runtime_error("no instance " + std::string(detector_id));
  if (!impl_->eng->restore(*inst, inst->binding->spec.state_schema_version, bytes))
    throw std::runtime_error("restore failed");
}

std::string collected_finding::evidence(std::string_view key) const {
  rapidjson::Document d;
  d.Parse(evidence_json.c_str());
  if (d.HasParseError() || !d.IsObject()) return "";
  auto it = d.FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
  if (it == d.MemberEnd()) return "";
  if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  it->value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

namespace {

void merge_into(rapidjson::Value& target, const rapidjson::Value& patch,
                rapidjson::Document::AllocatorType& a) {
  if (!patch.IsObject()) {
    target.CopyFrom(patch, a);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
    auto it = target.FindMember(m->name);
    if (m->value.IsNull()) {
      if (it != target.MemberEnd()) target.RemoveMember(it);
      continue;
    }
    if (it == target.MemberEnd()) {
      rapidjson::Value name(m->name, a);
      rapidjson::Value v;
      merge_into(v, m->value, a);
      target.AddMember(name, v, a);
    } else {
      merge_into(it->value, m->value, a);
    }
  }
}

}  // namespace

std::string merge_json(std::string_view base, std::string_view patch) {
  rapidjson::Document b, p;
  std::string bs(base), ps(patch);
  b.Parse(bs.c_str());
  if (b.HasParseError()) throw std::runtime_error("merge_json: base is not valid JSON");
  p.Parse(ps.c_str());
  if (p.HasParseError())
    throw std::runtime_error("merge_json: patch is not valid JSON at offset " +
                             std::to_string(p.GetErrorOffset()));
  merge_into(b, p, b.GetAllocator());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  b.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

namespace records {
namespace {

std::string base(std::string_view source, std::string_view name, std::string_view identity,
                 std::string_view ip, std::string_view ua) {
  std::string r = R"({"eventVersion":"1.09","userIdentity":)";
  r += identity;
  r += R"(,"eventTime":"2026-11-20T10:00:00Z","eventSource":")";
  r += source;
  r += R"(","eventName":")";
  r += name;
  r += R"(","awsRegion":"us-east-1","sourceIPAddress":")";
  r += ip;
  r += R"(","userAgent":")";
  r += ua;
  r +=
      R"(","requestParameters":null,"responseElements":null,"requestID":"6f1c1e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b","eventID":")";
  // A deterministic, distinct eventID per (source, name) so that feeding the same record twice is a
  // duplicate delivery, while different records differ. Tests that need many distinct records set
  // "eventID" in their patch.
  uint64_t h = 1469598103934665603ull;
  for (char c : std::string(source) + "/" + std::string(name) + "/" + std::string(identity))
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  char id[64];
  std::snprintf(id, sizeof id, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(h >> 32),
                static_cast<unsigned>(h >> 16) & 0xffff, static_cast<unsigned>(h >> 4) & 0xfff,
                static_cast<unsigned>(h >> 8) & 0xfff,
                static_cast<unsigned long long>(h & 0xffffffffffffull));
  r += id;
  r +=
      R"(","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":")";
  std::string_view svc = source.substr(0, source.find('.'));
  r += svc;
  r += R"(.amazonaws.com"}})";
  return r;
}

}  // namespace

std::string iam_user(std::string_view source, std::string_view name) {
  return base(
      source, name,
      R"({"type":"IAMUser","principalId":"AIDAEXAMPLEALICE00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE0001","userName":"alice"})",
      "198.51.100.10",
      "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/iam");
}

std::string assumed_role(std::string_view source, std::string_view name) {
  return base(
      source, name,
      R"({"type":"AssumedRole","principalId":"AROAEXAMPLEDEPLOY0001:deploy-session","arn":"arn:aws:sts::111122223333:assumed-role/Deploy/deploy-session","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEDEPLOY001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEDEPLOY0001","arn":"arn:aws:iam::111122223333:role/Deploy","accountId":"111122223333","userName":"Deploy"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-20T09:55:00Z","mfaAuthenticated":"false"}}})",
      "203.0.113.40", "Boto3/1.34.50 md/Botocore#1.34.50 ua/2.0 os/linux#6.1.0 lang/python#3.11.8");
}

std::string root(std::string_view source, std::string_view name) {
  return base(
      source, name,
      R"({"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEROOTSESS1","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-20T09:50:00Z","mfaAuthenticated":"true"}}})",
      "198.51.100.77",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36");
}

std::string aws_service(std::string_view source, std::string_view name) {
  std::string svc(source);
  std::string r =
      base(source, name, R"({"type":"AWSService","invokedBy":")" + svc + R"("})", svc, svc);
  return r;
}

}  // namespace records
}  // namespace trailhound::testing
