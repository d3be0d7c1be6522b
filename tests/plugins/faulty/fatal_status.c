/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-fatal-status: handles FATAL_AFTER events normally (emitting one valid finding for the
 * first), then returns TH_FATAL with a reason. The host must quarantine it at once. */
#include <stdlib.h>

#include "faulty_common.h"

#define FATAL_AFTER 3

static th_status fatal_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                              void** out) {
  faulty_base* s = (faulty_base*)calloc(1, sizeof *s);
  (void)cfg;
  if (!s) return TH_FATAL;
  s->host = host;
  s->ctx = ctx;
  *out = s;
  return TH_OK;
}

static void fatal_destroy(void* p) { free(p); }

static th_status fatal_on_event(void* p, const th_event* e) {
  faulty_base* s = (faulty_base*)p;
  (void)e;
  if (++s->events > FATAL_AFTER) {
    s->host->set_error(s->ctx, faulty_str("internal state corrupted"));
    return TH_FATAL;
  }
  if (s->events == 1) {
    th_finding f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.rule = faulty_str("first-event");
    f.severity = TH_SEVERITY_INFO;
    f.title = faulty_str("Faulty fatal-status detector saw its first event");
    if (s->host->emit(s->ctx, &f) != TH_OK) return TH_ERROR;
  }
  return TH_OK;
}

FAULTY_SUBSCRIBE_ALL(fatal_subs);

static const th_detector_desc fatal_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-fatal-status",
    .version = "1.0.0",
    .title = "Faulty: fatal status",
    .description = "Returns TH_FATAL from on_event after a few events.",
    .subscriptions = fatal_subs,
    .subscription_count = 1,
    .create = fatal_create,
    .destroy = fatal_destroy,
    .on_event = fatal_on_event,
};

FAULTY_MODULE("faulty-fatal-status", fatal_detector)
