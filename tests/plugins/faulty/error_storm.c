/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-error-storm: returns TH_ERROR (with a reason) from every on_event call. The host must
 * skip each event, keep going, and quarantine the instance at its max_errors-th error. */
#include <stdio.h>
#include <stdlib.h>

#include "faulty_common.h"

static th_status storm_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                              void** out) {
  faulty_base* s = (faulty_base*)calloc(1, sizeof *s);
  (void)cfg;
  if (!s) return TH_FATAL;
  s->host = host;
  s->ctx = ctx;
  *out = s;
  return TH_OK;
}

static void storm_destroy(void* p) { free(p); }

static th_status storm_on_event(void* p, const th_event* e) {
  faulty_base* s = (faulty_base*)p;
  char msg[96];
  (void)e;
  ++s->events;
  snprintf(msg, sizeof msg, "error storm: event %llu refused", (unsigned long long)s->events);
  s->host->set_error(s->ctx, faulty_str(msg));
  return TH_ERROR;
}

FAULTY_SUBSCRIBE_ALL(storm_subs);

static const th_detector_desc storm_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-error-storm",
    .version = "1.0.0",
    .title = "Faulty: error storm",
    .description = "Returns TH_ERROR from every on_event call.",
    .subscriptions = storm_subs,
    .subscription_count = 1,
    .create = storm_create,
    .destroy = storm_destroy,
    .on_event = storm_on_event,
};

FAULTY_MODULE("faulty-error-storm", storm_detector)
