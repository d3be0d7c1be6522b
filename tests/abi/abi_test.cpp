// SPDX-License-Identifier: Apache-2.0
// ABI promise tests: the v1.0 layout is frozen and the header only grows; a plugin built against
// the frozen v1.0 header loads and runs in this host; broken plugins are refused with a reason.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cloudtrail/record_parser.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "findings/collector.hpp"
#include "layout.hpp"
#include "plugins/loader.hpp"
#include "sinks/sink.hpp"

namespace {

// sizeof/offsetof of every v1.0 struct and field on x86-64 Linux, frozen when v1.0 shipped.
const layout_entry GOLDEN_V1_0[] = {
    {"th_str", "", 16},
    {"th_str", "ptr", 0},
    {"th_str", "len", 8},
    {"th_host_info", "", 24},
    {"th_host_info", "struct_size", 0},
    {"th_host_info", "abi_major", 4},
    {"th_host_info", "abi_minor", 8},
    {"th_host_info", "host_version", 16},
    {"th_event", "", 360},
    {"th_event", "struct_size", 0},
    {"th_event", "event_id", 8},
    {"th_event", "event_time_ms", 24},
    {"th_event", "event_source", 32},
    {"th_event", "event_name", 48},
    {"th_event", "event_type", 64},
    {"th_event", "aws_region", 80},
    {"th_event", "source_ip", 96},
    {"th_event", "user_agent", 112},
    {"th_event", "error_code", 128},
    {"th_event", "error_message", 144},
    {"th_event", "recipient_account_id", 160},
    {"th_event", "identity_type", 176},
    {"th_event", "principal_arn", 192},
    {"th_event", "principal_account_id", 208},
    {"th_event", "principal_user_name", 224},
    {"th_event", "access_key_id", 240},
    {"th_event", "session_issuer_arn", 256},
    {"th_event", "mfa_authenticated", 272},
    {"th_event", "read_only", 276},
    {"th_event", "management_event", 280},
    {"th_event", "event_category", 288},
    {"th_event", "invoked_by", 304},
    {"th_event", "principal_id", 320},
    {"th_event", "raw_json", 336},
    {"th_event", "root", 352},
    {"th_param_value", "", 72},
    {"th_param_value", "struct_size", 0},
    {"th_param_value", "name", 8},
    {"th_param_value", "type", 16},
    {"th_param_value", "bool_value", 20},
    {"th_param_value", "int_value", 24},
    {"th_param_value", "double_value", 32},
    {"th_param_value", "string_value", 40},
    {"th_param_value", "list", 56},
    {"th_param_value", "list_count", 64},
    {"th_config", "", 40},
    {"th_config", "struct_size", 0},
    {"th_config", "params", 8},
    {"th_config", "param_count", 16},
    {"th_config", "environment", 24},
    {"th_config", "instance_id", 32},
    {"th_byte_sink", "", 24},
    {"th_byte_sink", "struct_size", 0},
    {"th_byte_sink", "opaque", 8},
    {"th_byte_sink", "write", 16},
    {"th_finding", "", 240},
    {"th_finding", "struct_size", 0},
    {"th_finding", "rule", 8},
    {"th_finding", "severity", 24},
    {"th_finding", "title", 32},
    {"th_finding", "summary", 48},
    {"th_finding", "account_id", 64},
    {"th_finding", "region", 80},
    {"th_finding", "principal", 96},
    {"th_finding", "source_ip", 112},
    {"th_finding", "user_agent", 128},
    {"th_finding", "event_ids", 144},
    {"th_finding", "event_id_count", 152},
    {"th_finding", "event_names", 160},
    {"th_finding", "event_name_count", 168},
    {"th_finding", "first_seen_ms", 176},
    {"th_finding", "last_seen_ms", 184},
    {"th_finding", "mitre", 192},
    {"th_finding", "mitre_count", 200},
    {"th_finding", "evidence_json", 208},
    {"th_finding", "dedup_key", 224},
    {"th_host_api", "", 192},
    {"th_host_api", "struct_size", 0},
    {"th_host_api", "log", 8},
    {"th_host_api", "set_error", 16},
    {"th_host_api", "emit", 24},
    {"th_host_api", "register_field", 32},
    {"th_host_api", "get_field", 40},
    {"th_host_api", "value_kind", 48},
    {"th_host_api", "value_string", 56},
    {"th_host_api", "value_number", 64},
    {"th_host_api", "value_int", 72},
    {"th_host_api", "value_size", 80},
    {"th_host_api", "value_index", 88},
    {"th_host_api", "value_member", 96},
    {"th_host_api", "value_member_name", 104},
    {"th_host_api", "value_member_at", 112},
    {"th_host_api", "value_json", 120},
    {"th_host_api", "counter_add", 128},
    {"th_host_api", "is_org_account", 136},
    {"th_host_api", "org_accounts_known", 144},
    {"th_host_api", "is_trusted_ip", 152},
    {"th_host_api", "trusted_cidrs_known", 160},
    {"th_host_api", "is_admin_principal", 168},
    {"th_host_api", "is_break_glass_principal", 176},
    {"th_host_api", "is_known_account", 184},
    {"th_subscription", "", 24},
    {"th_subscription", "struct_size", 0},
    {"th_subscription", "event_source", 8},
    {"th_subscription", "event_name", 16},
    {"th_param_spec", "", 64},
    {"th_param_spec", "struct_size", 0},
    {"th_param_spec", "name", 8},
    {"th_param_spec", "type", 16},
    {"th_param_spec", "default_value", 24},
    {"th_param_spec", "description", 32},
    {"th_param_spec", "has_range", 40},
    {"th_param_spec", "min_value", 48},
    {"th_param_spec", "max_value", 56},
    {"th_rule_desc", "", 48},
    {"th_rule_desc", "struct_size", 0},
    {"th_rule_desc", "id", 8},
    {"th_rule_desc", "severity", 16},
    {"th_rule_desc", "title", 24},
    {"th_rule_desc", "mitre", 32},
    {"th_rule_desc", "description", 40},
    {"th_detector_desc", "", 160},
    {"th_detector_desc", "struct_size", 0},
    {"th_detector_desc", "id", 8},
    {"th_detector_desc", "version", 16},
    {"th_detector_desc", "title", 24},
    {"th_detector_desc", "description", 32},
    {"th_detector_desc", "subscriptions", 40},
    {"th_detector_desc", "subscription_count", 48},
    {"th_detector_desc", "params", 56},
    {"th_detector_desc", "param_count", 64},
    {"th_detector_desc", "rules", 72},
    {"th_detector_desc", "rule_count", 80},
    {"th_detector_desc", "create", 88},
    {"th_detector_desc", "destroy", 96},
    {"th_detector_desc", "on_event", 104},
    {"th_detector_desc", "on_tick", 112},
    {"th_detector_desc", "on_flush", 120},
    {"th_detector_desc", "state_schema_version", 128},
    {"th_detector_desc", "snapshot_state", 136},
    {"th_detector_desc", "restore_state", 144},
    {"th_detector_desc", "tick_interval_ms", 152},
    {"th_module_desc", "", 48},
    {"th_module_desc", "struct_size", 0},
    {"th_module_desc", "abi_major", 4},
    {"th_module_desc", "min_host_minor", 8},
    {"th_module_desc", "name", 16},
    {"th_module_desc", "version", 24},
    {"th_module_desc", "detectors", 32},
    {"th_module_desc", "detector_count", 40},
};

const layout_entry* find(const std::vector<layout_entry>& t, const std::string& type,
                         const std::string& field) {
  for (const auto& e : t)
    if (type == e.type && field == e.field) return &e;
  return nullptr;
}

}  // namespace

TEST(AbiLayout, FrozenHeaderMatchesGoldenV1_0) {
  for (const auto& g : GOLDEN_V1_0) {
    const layout_entry* e = find(layout_v1_0(), g.type, g.field);
    ASSERT_NE(e, nullptr) << g.type << "." << g.field << " missing from the frozen header";
    EXPECT_EQ(e->value, g.value) << g.type << "." << g.field;
  }
}

TEST(AbiLayout, CurrentHeaderOnlyGrows) {
  for (const auto& g : GOLDEN_V1_0) {
    const layout_entry* e = find(layout_current(), g.type, g.field);
    ASSERT_NE(e, nullptr) << g.type << "." << g.field << " was removed or renamed";
    if (std::strlen(g.field) == 0)
      EXPECT_GE(e->value, g.value) << "sizeof(" << g.type << ") shrank";
    else
      EXPECT_EQ(e->value, g.value) << g.type << "." << g.field << " moved";
  }
}

TEST(AbiLayout, VersionIsStillMajorOne) {
  EXPECT_EQ(TH_ABI_MAJOR, 1);
  EXPECT_GE(TH_ABI_MINOR, 0);
}

namespace {

using namespace trailhound;

std::string broken(const char* name) { return std::string(ABI_BROKEN_DIR) + "/" + name; }

std::string refusal(const char* name) {
  try {
    plugins::load_plugin_file(broken(name));
  } catch (const plugins::load_error& e) {
    return e.what();
  }
  return "<loaded>";
}

}  // namespace

TEST(AbiLoader, V1_0PluginLoadsAndRunsInCurrentHost) {
  auto m = plugins::load_plugin_file(std::string(ABI_FIXTURE_DIR) + "/abi_v1_0_fixture.so");
  ASSERT_EQ(m.detectors.size(), 1u);
  EXPECT_EQ(m.detectors[0].spec.id, "abi-v1-0-fixture");
  EXPECT_EQ(m.detectors[0].spec.rules.at(0).mitre, "T1136.003");

  config::effective_config cfg = config::load_string("", "<test>");
  findings::collector out(&cfg, "test");
  auto mem = std::make_unique<sinks::memory_sink>();
  sinks::memory_sink* captured = mem.get();
  out.add_sink(std::move(mem));
  engine::engine eng(cfg, out, {});
  eng.set_log_to_stderr(false);
  eng.add(m.detectors[0]);
  ASSERT_TRUE(eng.start().empty());
  cloudtrail::record_parser parser;
  std::string rec =
      R"({"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","requestParameters":{"userName":"backdoor"},"eventID":"0b5e1c1d-0000-4000-8000-000000000001","recipientAccountId":"111122223333"})";
  th_event ev;
  cloudtrail::parse_error err;
  ASSERT_TRUE(parser.parse(rec, ev, err)) << err.reason;
  eng.dispatch(ev);
  eng.finish();
  ASSERT_EQ(captured->items.size(), 1u);
  EXPECT_EQ(captured->items[0].rule, "user-created");
  EXPECT_EQ(captured->items[0].evidence_json, R"({"userName":"backdoor"})");
  EXPECT_EQ(captured->items[0].principal, "arn:aws:iam::111122223333:user/alice");
}

TEST(AbiLoader, GoodFixtureLoads) { EXPECT_EQ(refusal("good.so"), "<loaded>"); }

TEST(AbiLoader, NotASharedObjectIsRefusedWithTheLinkerReason) {
  std::string why = refusal("not-a-shared-object.so");
  EXPECT_NE(why.find("not a loadable shared object"), std::string::npos) << why;
  EXPECT_NE(why.find("invalid ELF header"), std::string::npos) << why;
}

TEST(AbiLoader, MissingEntrySymbolIsRefused) {
  EXPECT_NE(refusal("no-entry.so").find("missing entry symbol th_module_entry_v1"),
            std::string::npos);
}

TEST(AbiLoader, UndefinedSymbolIsRefusedAtLoadNotAtFirstCall) {
  std::string why = refusal("undefined-symbol.so");
  EXPECT_NE(why.find("undefined symbol: trailhound_function_that_does_not_exist"),
            std::string::npos)
      << why;
}

TEST(AbiLoader, WrongMajorIsRefused) {
  EXPECT_NE(refusal("wrong-major.so").find("ABI major 2 does not match"), std::string::npos);
}

TEST(AbiLoader, MinorTooNewIsRefused) {
  EXPECT_NE(refusal("minor-too-new.so").find("needs host ABI minor >= 5"), std::string::npos);
}

TEST(AbiLoader, StructSizeLargerThanKnownIsRefused) {
  std::string why = refusal("struct-too-large.so");
  EXPECT_NE(why.find("larger than this host knows"), std::string::npos) << why;
}

TEST(AbiLoader, MissingRequiredCallbackIsRefused) {
  EXPECT_NE(refusal("missing-callback.so").find("missing required callback on_event"),
            std::string::npos);
}

TEST(AbiLoader, EntryReturningNullIsRefused) {
  EXPECT_NE(refusal("entry-returns-null.so").find("returned NULL"), std::string::npos);
}

TEST(AbiLoader, DirectoryLoadRefusesBrokenAndDuplicatesButKeepsGoodPlugins) {
  auto report = plugins::load_plugins({ABI_BROKEN_DIR});
  ASSERT_EQ(report.modules.size(), 1u);  // good.so or its twin, which has the same detector id
  EXPECT_EQ(report.modules[0].detectors[0].spec.id, "good-fixture");
  // 9 refusals: the duplicate, 7 broken plugins, 1 non-ELF file; each one line naming its file.
  EXPECT_EQ(report.refusals.size(), 9u);
  bool duplicate_named_both = false;
  for (const auto& r : report.refusals) {
    EXPECT_EQ(r.find('\n'), std::string::npos) << r;
    EXPECT_EQ(r.rfind(ABI_BROKEN_DIR, 0), 0u) << r;
    if (r.find("duplicate detector id 'good-fixture', already loaded from") != std::string::npos &&
        r.find("/good.so") != std::string::npos && r.find("/good-twin.so") != std::string::npos)
      duplicate_named_both = true;
  }
  EXPECT_TRUE(duplicate_named_both);
}
