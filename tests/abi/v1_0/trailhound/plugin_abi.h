/* SPDX-License-Identifier: Apache-2.0 */
/* trailhound plugin ABI: the only binary contract between the host and detector plugins. */
#ifndef TRAILHOUND_PLUGIN_ABI_H
#define TRAILHOUND_PLUGIN_ABI_H

/*
 * Rules of this header (they are a promise to every plugin ever built):
 *  - C11, fixed-width integers, {ptr,len} string views, POD structs, function pointers and
 *    opaque handles only. No bool, no enum-typed fields, no C++ types, no exceptions.
 *  - Every struct starts with `uint32_t struct_size`. Fields are only ever APPENDED, each new one
 *    marked with a "since 1.N" comment. Nothing is reordered or removed. tests/abi freezes the
 *    layout of every struct.
 *  - Arrays of size-tagged structs are passed as arrays of pointers, so that a struct that grows
 *    does not change the stride of the array. Every array carries a count.
 *  - A reader checks `offsetof(field) + sizeof(field) <= struct_size` before reading a field that
 *    is newer than the oldest struct it accepts.
 *
 * Versioning: the host accepts a module when module.abi_major == TH_ABI_MAJOR and
 * module.min_host_minor <= TH_ABI_MINOR. The SDK sets min_host_minor from the features a plugin
 * uses, not from the header it was compiled with.
 *
 * Threading contract: the host never calls into one detector instance concurrently, and feeds each
 * instance events in (approximately: seconds to minutes of disorder) event-time order. Different
 * instances, even of the same detector, may run concurrently on different threads: a plugin keeps
 * all mutable state in its instance and has no mutable globals. Detectors use event time only,
 * never the wall clock, so a re-scan of old logs gives the same findings.
 *
 * Memory: everything the host hands to a plugin (events, values, configs, strings) is owned by the
 * host and valid only during the call that received it, unless stated otherwise. Everything a
 * plugin hands to the host (descriptors excepted) is copied before the host function returns.
 * Descriptors returned by th_module_entry_v1 are static: valid for as long as the plugin is loaded
 * (the host never unloads plugins).
 */

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TH_ABI_MAJOR 1
#define TH_ABI_MINOR 0

/* Name of the one exported symbol for ABI major 1. */
#define TH_MODULE_ENTRY_V1_SYMBOL "th_module_entry_v1"

/* ---------------------------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------------------------- */

/* A string view. Not NUL-terminated in general; ptr may be NULL when len == 0. UTF-8. */
typedef struct th_str {
  const char* ptr;
  uint64_t len;
} th_str;

/* Status returned by every plugin entry point. */
typedef int32_t th_status;
#define TH_OK 0
#define TH_ERROR 1 /* this call failed; the instance stays usable (repeated errors quarantine it) \
                    */
#define TH_FATAL 2 /* the instance is broken: the host quarantines it at once */

/* Finding severities, ordered. */
#define TH_SEVERITY_INFO 0
#define TH_SEVERITY_LOW 1
#define TH_SEVERITY_MEDIUM 2
#define TH_SEVERITY_HIGH 3
#define TH_SEVERITY_CRITICAL 4

/* Log levels for th_host_api.log. */
#define TH_LOG_DEBUG 0
#define TH_LOG_INFO 1
#define TH_LOG_WARN 2
#define TH_LOG_ERROR 3

/* Tri-state flags in th_event. */
#define TH_FLAG_UNKNOWN (-1)
#define TH_FLAG_FALSE 0
#define TH_FLAG_TRUE 1

/* Parameter types (th_param_spec.type, th_param_value.type). */
#define TH_PARAM_BOOL 1
#define TH_PARAM_INT 2
#define TH_PARAM_DOUBLE 3
#define TH_PARAM_STRING 4
#define TH_PARAM_STRING_LIST 5
#define TH_PARAM_DURATION 6 /* seconds (int64); TOML gives an integer or a string like "15m" */

/* JSON value kinds (th_host_api.value_kind). */
#define TH_VALUE_MISSING 0 /* also returned for a NULL handle */
#define TH_VALUE_NULL 1
#define TH_VALUE_FALSE 2
#define TH_VALUE_TRUE 3
#define TH_VALUE_NUMBER 4
#define TH_VALUE_STRING 5
#define TH_VALUE_ARRAY 6
#define TH_VALUE_OBJECT 7

/* Opaque handles. */
typedef struct th_host_ctx th_host_ctx; /* one per detector instance, owned by the host */
typedef struct th_value th_value;       /* a node of the parsed record, valid during on_event */

/* ---------------------------------------------------------------------------------------------
 * Host -> plugin data
 * ------------------------------------------------------------------------------------------- */

/* Handed to th_module_entry_v1 so the module can see which host loads it. */
typedef struct th_host_info {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  const char* host_version; /* e.g. "0.1.0" */
} th_host_info;

/* One CloudTrail record, with the common fields pre-extracted by the host once. Every th_str
 * points into host memory valid only during on_event; absent fields have len == 0. */
typedef struct th_event {
  uint32_t struct_size;
  th_str event_id;             /* eventID */
  int64_t event_time_ms;       /* eventTime as epoch milliseconds UTC */
  th_str event_source;         /* eventSource, e.g. "iam.amazonaws.com" */
  th_str event_name;           /* eventName */
  th_str event_type;           /* eventType, e.g. "AwsApiCall", "AwsConsoleSignIn" */
  th_str aws_region;           /* awsRegion */
  th_str source_ip;            /* sourceIPAddress (may be a service name like ec2.amazonaws.com) */
  th_str user_agent;           /* userAgent */
  th_str error_code;           /* errorCode */
  th_str error_message;        /* errorMessage */
  th_str recipient_account_id; /* recipientAccountId */
  th_str identity_type;        /* userIdentity.type: Root, IAMUser, AssumedRole, AWSService... */
  th_str principal_arn;        /* userIdentity.arn */
  th_str principal_account_id; /* userIdentity.accountId */
  th_str principal_user_name;  /* userIdentity.userName, else sessionIssuer.userName */
  th_str access_key_id;        /* userIdentity.accessKeyId */
  th_str session_issuer_arn;   /* userIdentity.sessionContext.sessionIssuer.arn */
  int32_t mfa_authenticated;   /* sessionContext.attributes.mfaAuthenticated: TH_FLAG_* */
  int32_t read_only;           /* readOnly: TH_FLAG_* */
  int32_t management_event;    /* managementEvent: TH_FLAG_* */
  int32_t aws_service_origin;  /* TH_FLAG_TRUE when an AWS service acted (AWSService identity,
                                  invokedBy, or a *.amazonaws.com source address) */
  th_str event_category;       /* eventCategory: "Management", "Data", "Insight" */
  th_str invoked_by;           /* userIdentity.invokedBy */
  th_str principal_id;         /* userIdentity.principalId */
  th_str raw_json;             /* the record's exact bytes */
  const th_value* root;        /* the parsed record, for th_host_api value accessors */
} th_event;

/* A configured parameter value, already validated against the detector's th_param_spec and with
 * the default applied. Strings and lists are host-owned, valid only during create. */
typedef struct th_param_value {
  uint32_t struct_size;
  const char* name;
  int32_t type;        /* TH_PARAM_* */
  int32_t bool_value;  /* TH_PARAM_BOOL: 0 or 1 */
  int64_t int_value;   /* TH_PARAM_INT, TH_PARAM_DURATION (seconds) */
  double double_value; /* TH_PARAM_DOUBLE (also set for INT) */
  th_str string_value; /* TH_PARAM_STRING */
  const th_str* list;  /* TH_PARAM_STRING_LIST */
  uint32_t list_count;
} th_param_value;

/* The configuration of one detector instance. */
typedef struct th_config {
  uint32_t struct_size;
  const th_param_value* const* params; /* one per declared param spec, in declaration order */
  uint32_t param_count;
  const char* environment; /* e.g. "prod"; "" when none */
  const char* instance_id; /* the detector id, or "<id>#<n>" when configured twice */
} th_config;

/* A sink for snapshot_state. */
typedef struct th_byte_sink {
  uint32_t struct_size;
  void* opaque;
  /* Appends bytes. Returns TH_OK or TH_ERROR (stop writing). */
  th_status (*write)(void* opaque, const void* data, uint64_t len);
} th_byte_sink;

/* ---------------------------------------------------------------------------------------------
 * Plugin -> host data
 * ------------------------------------------------------------------------------------------- */

/* A finding. Every pointer is read during emit and deep-copied; NULL/empty optional fields are
 * filled by the host from the triggering event where it can (account, region, principal...). */
typedef struct th_finding {
  uint32_t struct_size;
  th_str rule;             /* required: rule id, unique within the detector, e.g. "console-login" */
  int32_t severity;        /* required: TH_SEVERITY_* */
  th_str title;            /* required: one line a responder understands at a glance */
  th_str summary;          /* optional: a sentence or two with the specifics */
  th_str account_id;       /* optional: defaults to the event's recipientAccountId */
  th_str region;           /* optional */
  th_str principal;        /* optional: ARN of the acting identity */
  th_str source_ip;        /* optional */
  th_str user_agent;       /* optional */
  const th_str* event_ids; /* CloudTrail eventIDs of the evidence (may be empty) */
  uint32_t event_id_count;
  const th_str* event_names;
  uint32_t event_name_count;
  int64_t first_seen_ms; /* 0 = time of the current event */
  int64_t last_seen_ms;  /* 0 = first_seen_ms */
  const th_str* mitre;   /* ATT&CK technique ids, e.g. "T1078.004" */
  uint32_t mitre_count;
  th_str evidence_json; /* a JSON object with the fields that made the rule fire; "" = {} */
  th_str dedup_key;     /* optional: extra input to the stable finding_id (e.g. a bucket name) */
} th_finding;

/* ---------------------------------------------------------------------------------------------
 * Host services, one table per host; the ctx argument names the calling instance.
 * Every function is safe to call from the thread that is currently calling into the instance,
 * during create, on_event, on_tick and on_flush. None of them throws or retains plugin pointers.
 * ------------------------------------------------------------------------------------------- */
typedef struct th_host_api {
  uint32_t struct_size;

  /* Writes a message to the host's log, tagged with the instance id. Not required to be
   * NUL-terminated. Never fails. */
  void (*log)(th_host_ctx* ctx, int32_t level, th_str message);

  /* Records why the current call is about to return TH_ERROR/TH_FATAL. The host copies it and
   * reports it with the status. */
  void (*set_error)(th_host_ctx* ctx, th_str message);

  /* Submits a finding. The host validates and deep-copies it before returning. Returns TH_OK, or
   * TH_ERROR when the finding is malformed (missing rule/title, bad severity, invalid UTF-8,
   * evidence that is not a JSON object, oversized); the reason is logged and counted. */
  th_status (*emit)(th_host_ctx* ctx, const th_finding* finding);

  /* Registers a JSON pointer (RFC 6901, e.g. "/requestParameters/userName") for fast lookup.
   * Only valid during create. Returns a field id >= 0, or -1 on a malformed pointer. */
  int32_t (*register_field)(th_host_ctx* ctx, const char* json_pointer);

  /* Looks up a registered field in the event. Returns NULL when the field is absent or the id was
   * never registered by this instance (the latter is also reported as a plugin error). */
  const th_value* (*get_field)(th_host_ctx* ctx, const th_event* event, int32_t field_id);

  /* JSON value accessors. Every one accepts NULL (as "missing"). Handles are valid during the
   * on_event call that produced them. */
  int32_t (*value_kind)(const th_value* value);  /* TH_VALUE_* */
  th_str (*value_string)(const th_value* value); /* {NULL,0} unless a string */
  double (*value_number)(const th_value* value); /* 0 unless a number */
  int64_t (*value_int)(const th_value* value);   /* 0 unless an integral number */
  uint32_t (*value_size)(const th_value* value); /* array elements or object members */
  const th_value* (*value_index)(const th_value* value, uint32_t index); /* array element */
  const th_value* (*value_member)(const th_value* value, th_str name);   /* object member */
  th_str (*value_member_name)(const th_value* value, uint32_t index);    /* i-th member name */
  const th_value* (*value_member_at)(const th_value* value, uint32_t index);

  /* Serialises a value to compact JSON into a host-owned buffer of this instance, valid until the
   * next call of value_json by the same instance. */
  th_str (*value_json)(th_host_ctx* ctx, const th_value* value);

  /* Adds to a named counter of this instance, reported in the run summary. */
  void (*counter_add)(th_host_ctx* ctx, const char* name, int64_t delta);

  /* Shared notions configured once for the whole run (TOML, top level). Each returns 1 or 0. */
  int32_t (*is_org_account)(th_host_ctx* ctx, th_str account_id); /* in org_account_ids */
  int32_t (*org_accounts_known)(th_host_ctx* ctx);                /* org_account_ids set */
  /* An address, or a CIDR wholly inside one of trusted_cidrs ("10.1.0.0/16" inside "10/8"). */
  int32_t (*is_trusted_ip)(th_host_ctx* ctx, th_str ip_or_cidr);
  int32_t (*trusted_cidrs_known)(th_host_ctx* ctx);            /* trusted_cidrs set */
  int32_t (*is_admin_principal)(th_host_ctx* ctx, th_str arn); /* admin_principals glob */
  int32_t (*is_break_glass_principal)(th_host_ctx* ctx, th_str arn);
  /* Accounts that appear anywhere in the input so far as a recipient or an acting principal. */
  int32_t (*is_known_account)(th_host_ctx* ctx, th_str account_id);
} th_host_api;

/* ---------------------------------------------------------------------------------------------
 * Plugin descriptors (static, owned by the plugin)
 * ------------------------------------------------------------------------------------------- */

/* An event a detector wants. "*" in either field is a wildcard; NULL means "*". */
typedef struct th_subscription {
  uint32_t struct_size;
  const char* event_source; /* e.g. "iam.amazonaws.com" */
  const char* event_name;   /* e.g. "CreateAccessKey" */
} th_subscription;

/* A declared, typed parameter. */
typedef struct th_param_spec {
  uint32_t struct_size;
  const char* name;
  int32_t type; /* TH_PARAM_* */
  const char*
      default_value; /* a TOML value literal: "20", "true", "\"x\"", "[\"a\", \"b\"]", "\"15m\"" */
  const char* description;
  int32_t has_range; /* numbers: 1 when min/max apply */
  double min_value;
  double max_value;
} th_param_spec;

/* A rule a detector may emit, for documentation (`trailhound plugins describe`). */
typedef struct th_rule_desc {
  uint32_t struct_size;
  const char* id;
  int32_t severity; /* the usual severity; a finding may raise or lower it */
  const char* title;
  const char* mitre; /* comma-separated technique ids */
  const char* description;
} th_rule_desc;

typedef struct th_detector_desc {
  uint32_t struct_size;
  const char* id;          /* required: unique across all loaded plugins, [a-z0-9-]+ */
  const char* version;     /* required: semantic version of the detector logic */
  const char* title;       /* required */
  const char* description; /* optional */
  const th_subscription* const* subscriptions;
  uint32_t subscription_count;
  const th_param_spec* const* params;
  uint32_t param_count;
  const th_rule_desc* const* rules;
  uint32_t rule_count;

  /* Required. Creates an instance. `host` and `ctx` stay valid for the instance's whole life and
   * are the instance's way back to the host. Store the instance in *out_instance. Returns TH_OK,
   * or TH_ERROR/TH_FATAL (with set_error) and the detector is not run. Called once per instance,
   * from the loading thread. */
  th_status (*create)(const th_host_api* host, th_host_ctx* ctx, const th_config* config,
                      void** out_instance);

  /* Required. Destroys an instance created by create. Never called concurrently with others. */
  void (*destroy)(void* instance);

  /* Required. Handles one event the instance subscribed to. The event and every value reached
   * from it are valid only during the call. Returns TH_OK, TH_ERROR (event skipped; repeated
   * errors quarantine the instance) or TH_FATAL (quarantine now). */
  th_status (*on_event)(void* instance, const th_event* event);

  /* Optional (NULL). Event time advanced to event_time_ms (every tick_interval_ms of event time,
   * and once at end of input before on_flush). Lets stateful detectors close windows. */
  th_status (*on_tick)(void* instance, int64_t event_time_ms);

  /* Optional (NULL). End of input: emit whatever is pending. */
  th_status (*on_flush)(void* instance);

  /* Optional (both NULL or both set). Learned state, versioned by state_schema_version. The host
   * stores the bytes per environment and instance and hands them back on the next run; it calls
   * restore_state only with data of the same schema version, right after create. */
  uint32_t state_schema_version;
  th_status (*snapshot_state)(void* instance, const th_byte_sink* sink);
  th_status (*restore_state)(void* instance, uint32_t schema_version, const void* data,
                             uint64_t len);

  int64_t tick_interval_ms; /* 0 = the host default (60 s of event time) */
} th_detector_desc;

/* What th_module_entry_v1 returns. */
typedef struct th_module_desc {
  uint32_t struct_size;
  uint32_t abi_major;      /* TH_ABI_MAJOR of the header the module was built against */
  uint32_t min_host_minor; /* lowest host minor that has every feature the module uses */
  const char* name;        /* module (family) name, e.g. "root-account" */
  const char* version;
  const th_detector_desc* const* detectors;
  uint32_t detector_count;
} th_module_desc;

/* The one exported symbol. Returns the module's static descriptor, or NULL when the module cannot
 * run on this host (it may inspect host->abi_minor). Called once, from the loading thread. */
typedef const th_module_desc* (*th_module_entry_v1_fn)(const th_host_info* host);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TRAILHOUND_PLUGIN_ABI_H */
