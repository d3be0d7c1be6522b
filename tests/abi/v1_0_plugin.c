/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin written in plain C against the FROZEN v1.0 header (tests/abi/v1_0): the current host
 * must keep loading and running it. It reports every CreateUser as a finding with the userName
 * read through the host's value accessors and a registered JSON pointer. */
#include <stdlib.h>
#include <string.h>
#include <trailhound/plugin_abi.h>

typedef struct instance {
  const th_host_api* host;
  th_host_ctx* ctx;
  int32_t user_field;
  int64_t events;
} instance;

static th_str lit(const char* s) {
  th_str r;
  r.ptr = s;
  r.len = strlen(s);
  return r;
}

static th_status create(const th_host_api* host, th_host_ctx* ctx, const th_config* config,
                        void** out) {
  instance* inst = (instance*)calloc(1, sizeof *inst);
  (void)config;
  if (!inst) return TH_FATAL;
  inst->host = host;
  inst->ctx = ctx;
  inst->user_field = host->register_field(ctx, "/requestParameters/userName");
  if (inst->user_field < 0) {
    free(inst);
    host->set_error(ctx, lit("cannot register field"));
    return TH_FATAL;
  }
  *out = inst;
  return TH_OK;
}

static void destroy(void* p) { free(p); }

static th_status on_event(void* p, const th_event* ev) {
  instance* inst = (instance*)p;
  const th_value* user = inst->host->get_field(inst->ctx, ev, inst->user_field);
  th_str name = inst->host->value_string(user);
  char evidence[256];
  th_finding f;
  size_t n;
  inst->events++;
  memset(&f, 0, sizeof f);
  f.struct_size = sizeof f;
  f.rule = lit("user-created");
  f.severity = TH_SEVERITY_LOW;
  f.title = lit("IAM user created (v1.0 C plugin)");
  n = name.len < 200 ? (size_t)name.len : 200;
  memcpy(evidence, "{\"userName\":\"", 13);
  memcpy(evidence + 13, name.ptr ? name.ptr : "", n);
  memcpy(evidence + 13 + n, "\"}", 3);
  f.evidence_json = lit(evidence);
  return inst->host->emit(inst->ctx, &f);
}

static const th_subscription sub = {sizeof(th_subscription), "iam.amazonaws.com", "CreateUser"};
static const th_subscription* const subs[] = {&sub};
static const th_rule_desc rule = {sizeof(th_rule_desc), "user-created", TH_SEVERITY_LOW,
                                  "IAM user created",   "T1136.003",    "every CreateUser"};
static const th_rule_desc* const rules[] = {&rule};

static th_detector_desc make_detector(void) {
  th_detector_desc d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  d.id = "abi-v1-0-fixture";
  d.version = "1.0.0";
  d.title = "ABI v1.0 fixture";
  d.description = "built against the frozen v1.0 header";
  d.subscriptions = subs;
  d.subscription_count = 1;
  d.rules = rules;
  d.rule_count = 1;
  d.create = create;
  d.destroy = destroy;
  d.on_event = on_event;
  return d;
}

static th_detector_desc detector;
static const th_detector_desc* detectors[1];
static th_module_desc module;

__attribute__((visibility("default"))) const th_module_desc* th_module_entry_v1(
    const th_host_info* host) {
  if (!host || host->abi_major != TH_ABI_MAJOR) return NULL;
  detector = make_detector();
  detectors[0] = &detector;
  memset(&module, 0, sizeof module);
  module.struct_size = sizeof module;
  module.abi_major = TH_ABI_MAJOR;
  module.min_host_minor = 0;
  module.name = "abi-v1-0-fixture";
  module.version = "1.0.0";
  module.detectors = detectors;
  module.detector_count = 1;
  return &module;
}
