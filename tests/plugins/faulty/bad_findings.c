/* SPDX-License-Identifier: Apache-2.0 */
/* faulty-bad-findings: on each of its first BAD_EVENTS events, emits BAD_VARIANTS malformed
 * findings (NULL finding, NULL/empty title, NULL pointer with a length, bogus struct_size, invalid
 * UTF-8 in the rule id, bad severity, 10 MB evidence, evidence that is not a JSON object...) and
 * one valid finding. The host must reject every malformed one (emit returns TH_ERROR, nothing is
 * written, the rejection is counted) and accept the valid one; the instance keeps running.
 * If the host accepts a malformed finding or rejects the valid one, the plugin returns TH_FATAL
 * naming the variant, so tests see it as a quarantine. */
#include <stdio.h>
#include <stdlib.h>

#include "faulty_common.h"

#define BAD_EVENTS 2
#define BAD_VARIANTS 24
#define HUGE_EVIDENCE_BYTES (10u * 1024u * 1024u)
#define DEEP_NESTING 1000
#define MANY_EVENT_IDS 10001
#define LONG_TITLE_BYTES (17u * 1024u)

typedef struct bad_instance {
  faulty_base base;
  char* huge_evidence; /* {"blob":"aaaa..."}: valid JSON, 10 MB */
  char* deep_evidence; /* {"a":[[[[...]]]]}: valid JSON, nested DEEP_NESTING deep */
  char* long_title;    /* valid UTF-8, longer than the host's text limit */
  th_str* many_ids;    /* MANY_EVENT_IDS valid event ids */
} bad_instance;

static void bad_free(bad_instance* s) {
  if (!s) return;
  free(s->huge_evidence);
  free(s->deep_evidence);
  free(s->long_title);
  free(s->many_ids);
  free(s);
}

static th_status bad_create(const th_host_api* host, th_host_ctx* ctx, const th_config* cfg,
                            void** out) {
  bad_instance* s = (bad_instance*)calloc(1, sizeof *s);
  size_t i, n;
  (void)cfg;
  if (!s) return TH_FATAL;
  s->base.host = host;
  s->base.ctx = ctx;
  s->huge_evidence = (char*)malloc(HUGE_EVIDENCE_BYTES);
  s->deep_evidence = (char*)malloc(2 * DEEP_NESTING + 16);
  s->long_title = (char*)malloc(LONG_TITLE_BYTES);
  s->many_ids = (th_str*)calloc(MANY_EVENT_IDS, sizeof(th_str));
  if (!s->huge_evidence || !s->deep_evidence || !s->long_title || !s->many_ids) {
    bad_free(s);
    return TH_FATAL;
  }
  memset(s->huge_evidence, 'a', HUGE_EVIDENCE_BYTES);
  memcpy(s->huge_evidence, "{\"blob\":\"", 9);
  memcpy(s->huge_evidence + HUGE_EVIDENCE_BYTES - 2, "\"}", 2);
  n = 0;
  memcpy(s->deep_evidence, "{\"a\":", 5);
  n = 5;
  for (i = 0; i < DEEP_NESTING; ++i) s->deep_evidence[n++] = '[';
  for (i = 0; i < DEEP_NESTING; ++i) s->deep_evidence[n++] = ']';
  s->deep_evidence[n++] = '}';
  s->deep_evidence[n] = '\0';
  memset(s->long_title, 't', LONG_TITLE_BYTES);
  for (i = 0; i < MANY_EVENT_IDS; ++i)
    s->many_ids[i] = faulty_str("00000000-0000-4000-8000-000000000000");
  *out = s;
  return TH_OK;
}

static void bad_destroy(void* p) { bad_free((bad_instance*)p); }

static void valid_finding(th_finding* f) {
  memset(f, 0, sizeof *f);
  f->struct_size = sizeof *f;
  f->rule = faulty_str("valid");
  f->severity = TH_SEVERITY_LOW;
  f->title = faulty_str("Faulty bad-findings detector: the one valid finding");
  f->evidence_json = faulty_str("{\"ok\":true}");
}

/* Emits malformed variant `v`; returns what the host answered. */
static th_status emit_variant(bad_instance* s, int v) {
  static const char bad_utf8_rule[] = "bad-\xC3\x28-rule";        /* truncated 2-byte sequence */
  static const char overlong_title[] = "overlong \xC0\xAF slash"; /* overlong encoding of '/' */
  static const char surrogate_key[] = "key-\xED\xA0\x80";         /* UTF-8-encoded surrogate */
  static const char bad_mitre[] = "T1078\xFF";
  static const char bad_evidence_utf8[] = "{\"a\":\"\xF8\x88\x80\x80\x80\"}";
  th_str mitre[1];
  th_finding f;
  valid_finding(&f);
  switch (v) {
    case 0:
      return s->base.host->emit(s->base.ctx, NULL);
    case 1: /* NULL title */
      f.title.ptr = NULL;
      f.title.len = 0;
      break;
    case 2: /* length, NULL pointer */
      f.title.ptr = NULL;
      f.title.len = 12;
      break;
    case 3: /* empty rule */
      f.rule.ptr = "";
      f.rule.len = 0;
      break;
    case 4: /* larger than any version */
      f.struct_size = 4096;
      break;
    case 5: /* smaller than v1.0 */
      f.struct_size = 8;
      break;
    case 6:
      f.struct_size = 0;
      break;
    case 7: /* invalid UTF-8 rule id */
      f.rule = faulty_str(bad_utf8_rule);
      break;
    case 8: /* overlong encoding */
      f.title = faulty_str(overlong_title);
      break;
    case 9:
      f.summary.ptr = NULL;
      f.summary.len = 5;
      break;
    case 10:
      f.severity = 42;
      break;
    case 11:
      f.severity = -1;
      break;
    case 12: /* 10 MB evidence */
      f.evidence_json.ptr = s->huge_evidence;
      f.evidence_json.len = HUGE_EVIDENCE_BYTES;
      break;
    case 13: /* not an object */
      f.evidence_json = faulty_str("[1,2,3]");
      break;
    case 14: /* not JSON */
      f.evidence_json = faulty_str("{\"a\": }");
      break;
    case 15: /* nested 1000 deep */
      f.evidence_json = faulty_str(s->deep_evidence);
      break;
    case 16: /* NULL array with a count */
      f.event_ids = NULL;
      f.event_id_count = 3;
      break;
    case 17: /* more event ids than the host accepts */
      f.event_ids = s->many_ids;
      f.event_id_count = MANY_EVENT_IDS;
      break;
    case 18: /* title longer than the host accepts */
      f.title.ptr = s->long_title;
      f.title.len = LONG_TITLE_BYTES;
      break;
    case 19:
      mitre[0] = faulty_str(bad_mitre);
      f.mitre = mitre;
      f.mitre_count = 1;
      break;
    case 20:
      f.evidence_json = faulty_str(bad_evidence_utf8);
      break;
    case 21: /* lone surrogate escape */
      f.evidence_json = faulty_str("{\"a\":\"\\ud800\"}");
      break;
    case 22:
      f.evidence_json = faulty_str("{\"a\":1} trailing");
      break;
    case 23:
      f.dedup_key = faulty_str(surrogate_key);
      break;
    default:
      return TH_OK;
  }
  return s->base.host->emit(s->base.ctx, &f);
}

static th_status bad_on_event(void* p, const th_event* e) {
  bad_instance* s = (bad_instance*)p;
  th_finding f;
  int v;
  (void)e;
  if (++s->base.events > BAD_EVENTS) return TH_OK;
  for (v = 0; v < BAD_VARIANTS; ++v) {
    if (emit_variant(s, v) != TH_ERROR) {
      char msg[64];
      snprintf(msg, sizeof msg, "host accepted malformed finding variant %d", v);
      s->base.host->set_error(s->base.ctx, faulty_str(msg));
      return TH_FATAL;
    }
  }
  valid_finding(&f);
  if (s->base.host->emit(s->base.ctx, &f) != TH_OK) {
    s->base.host->set_error(s->base.ctx, faulty_str("host rejected the valid finding"));
    return TH_FATAL;
  }
  return TH_OK;
}

FAULTY_SUBSCRIBE_ALL(bad_subs);

static const th_detector_desc bad_detector = {
    .struct_size = sizeof(th_detector_desc),
    .id = "faulty-bad-findings",
    .version = "1.0.0",
    .title = "Faulty: malformed findings",
    .description = "Emits malformed findings (and one valid finding) on its first events.",
    .subscriptions = bad_subs,
    .subscription_count = 1,
    .create = bad_create,
    .destroy = bad_destroy,
    .on_event = bad_on_event,
};

FAULTY_MODULE("faulty-bad-findings", bad_detector)
