/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-unregistered-field: registers one field at create, then on every event looks up a field
 * id it never registered (and tries to register a field outside create). The host must return
 * NULL (resp. -1), count one error per bad lookup, not crash, and quarantine the instance at its
 * max_errors-th error even though every call returns TH_OK. If the host ever answers a bad lookup
 * with a value, the plugin reports it as a fatal error, so tests see it. */
#include <stdlib.h>

#include "faulty_common.h"

typedef struct field_instance {
  faulty_base base;
  int32_t user_name;
} field_instance;

static th_status field_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                              void** out) {
  field_instance* s = (field_instance*)calloc(1, sizeof *s);
  (void)cfg;
  if (!s) return TH_FATAL;
  s->base.host = host;
  s->base.ctx = ctx;
  s->user_name = host->register_field(ctx, "/requestParameters/userName");
  if (s->user_name < 0) {
    free(s);
    host->set_error(ctx, faulty_str("register_field refused a valid pointer"));
    return TH_FATAL;
  }
  *out = s;
  return TH_OK;
}

static void field_destroy(void* p) { free(p); }

static th_status field_on_event(void* p, const th_event* e) {
  field_instance* s = (field_instance*)p;
  const th_host_api* h = s->base.host;
  ++s->base.events;
  (void)h->get_field(s->base.ctx, e, s->user_name); /* registered: fine, present or not */
  if (h->get_field(s->base.ctx, e, s->user_name + 41) != NULL) {
    h->set_error(s->base.ctx, faulty_str("get_field answered an unregistered id"));
    return TH_FATAL;
  }
  if (h->register_field(s->base.ctx, "/eventName") != -1) {
    h->set_error(s->base.ctx, faulty_str("register_field accepted a field outside create"));
    return TH_FATAL;
  }
  return TH_OK;
}

FAULTY_SUBSCRIBE_ALL(field_subs);

static const th_detector_desc field_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-unregistered-field",
    .version = "1.0.0",
    .title = "Faulty: unregistered field id",
    .description = "Looks up a field id it never registered on every event.",
    .subscriptions = field_subs,
    .subscription_count = 1,
    .create = field_create,
    .destroy = field_destroy,
    .on_event = field_on_event,
};

FAULTY_MODULE("faulty-unregistered-field", field_detector)
