# SPDX-License-Identifier: Apache-2.0
"""CloudTrail record shapes: userIdentity variants and the record builder.

Keys are emitted in the order CloudTrail itself uses, so generated files look like delivered
ones. The same builder serves the fast template path (routine.py: eventTime/requestID/eventID
are marker strings substituted later) and the scripted path (scenarios.py, attacks.py).
"""

import json

from . import util

# Markers substituted in pre-rendered templates (see routine.compile_template).
M_TIME = "@@T@@"
M_RID = "@@R@@"
M_EID = "@@E@@"

GLOBAL_REGION = "us-east-1"
GLOBAL_SERVICES = {"iam", "sts", "signin", "organizations", "account", "billingconsole",
                   "cloudfront", "route53", "ce", "health"}

CONSOLE_UAS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15",
]
AWS_INTERNAL_UA = "AWS Internal"
BOTO3_APP_UA = ("Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 "
                "md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy "
                "Botocore/1.34.11")
BOTO3_SCANNER_UA = ("Boto3/1.33.13 md/Botocore#1.33.13 ua/2.0 os/linux#6.1.66-91.160.amzn2023.x86_64 "
                    "md/arch#x86_64 lang/python#3.12.1 md/pyimpl#CPython cfg/retry-mode#adaptive "
                    "Botocore/1.33.13")
JAVA_UA = ("aws-sdk-java/2.21.29 Linux/5.10.199-190.747.amzn2.x86_64 "
           "OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. io/sync "
           "http/Apache cfg/retry-mode/legacy")
GITHUB_STS_UA = ("aws-sdk-js/3.490.0 ua/2.0 os/linux#6.2.0-1018-azure lang/js md/nodejs#20.10.0 "
                 "api/sts#3.490.0 configure-aws-credentials-for-github-actions")


def go_ua(api):
    return ("aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 "
            "api/%s#1.26.0" % api)


def terraform_ua(api):
    return ("APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io) "
            "terraform-provider-aws/5.31.0 (+https://registry.terraform.io/providers/hashicorp/aws) "
            "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 "
            "api/%s#1.141.0" % api)


def cli_ua(svc, name, platform="linux"):
    cmd = "%s.%s" % (svc, util.kebab(name))
    if platform == "mac":
        return ("aws-cli/2.15.10 Python/3.11.6 Darwin/23.2.0 exe/x86_64 prompt/off "
                "command/%s" % cmd)
    if platform == "ci":
        return ("aws-cli/2.15.8 Python/3.11.6 Linux/6.2.0-1018-azure exe/x86_64.ubuntu.22 "
                "prompt/off command/%s" % cmd)
    return ("aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 "
            "prompt/off command/%s" % cmd)


def host_for(svc, region):
    if svc == "iam":
        return "iam.amazonaws.com"
    if svc == "sts":
        return "sts.amazonaws.com"
    if svc == "signin":
        return "signin.aws.amazon.com"
    if svc == "s3":
        return "s3.%s.amazonaws.com" % region
    if svc == "monitoring":
        return "monitoring.%s.amazonaws.com" % region
    return "%s.%s.amazonaws.com" % (svc, region)


def tls(svc, region, host=None):
    return {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": host or host_for(svc, region)}


# ---------------------------------------------------------------------------- userIdentity

def ui_iam_user(acct, user, key=None, console=None, mfa=True):
    """IAMUser. `console` = (ASIA key, creationDate) for a console session."""
    d = {"type": "IAMUser", "principalId": user.uid,
         "arn": "arn:aws:iam::%s:user/%s" % (acct, user.name), "accountId": acct}
    if console:
        d["accessKeyId"] = console[0]
        d["userName"] = user.name
        d["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": {"creationDate": console[1],
                                              "mfaAuthenticated": "true" if mfa else "false"}}
    else:
        d["accessKeyId"] = key if key is not None else user.key
        d["userName"] = user.name
    return d


def role_arn(acct, role):
    return "arn:aws:iam::%s:role%s%s" % (acct, role.path, role.name)


def ui_assumed(acct, role, session, asia, created, mfa=False, invoked_by=None, ec2=False,
               web_provider=None, caller_acct=None):
    """AssumedRole with sessionContext.sessionIssuer."""
    a = caller_acct or acct
    sc = {"sessionIssuer": {"type": "Role", "principalId": role.rid, "arn": role_arn(a, role),
                            "accountId": a, "userName": role.name},
          "webIdFederationData": ({"federatedProvider": web_provider, "attributes": {}}
                                  if web_provider else {}),
          "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"}}
    if ec2:
        sc["ec2RoleDelivery"] = "2.0"
    d = {"type": "AssumedRole", "principalId": "%s:%s" % (role.rid, session),
         "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (a, role.name, session),
         "accountId": a, "accessKeyId": asia, "sessionContext": sc}
    if invoked_by:
        d["invokedBy"] = invoked_by
    return d


def ui_root(acct, key="", mfa=None, created=None):
    d = {"type": "Root", "principalId": acct, "arn": "arn:aws:iam::%s:root" % acct,
         "accountId": acct, "accessKeyId": key}
    if created:
        d["sessionContext"] = {"sessionIssuer": {}, "webIdFederationData": {},
                               "attributes": {"creationDate": created,
                                              "mfaAuthenticated": "true" if mfa else "false"}}
    return d


def ui_service(invoked_by):
    return {"type": "AWSService", "invokedBy": invoked_by}


def ui_web_identity(acct, provider_host, subject):
    prov = "arn:aws:iam::%s:oidc-provider/%s" % (acct, provider_host)
    return {"type": "WebIdentityUser",
            "principalId": "%s:sts.amazonaws.com:%s" % (prov, subject),
            "userName": subject, "identityProvider": prov}


# ---------------------------------------------------------------------------- the record

def record(ui, t, svc, name, region, ip, ua, req=None, resp=None, *, rid, eid, read_only,
           acct, event_type="AwsApiCall", category="Management", error=None, extra=None,
           resources=None, tls_host=None, no_tls=False, console=False, version="1.09",
           shared_event_id=None, service_details=None, api_version=None):
    """One CloudTrail record as an ordered dict. `t` is the eventTime string."""
    if svc in GLOBAL_SERVICES:
        region = GLOBAL_REGION
    r = {"eventVersion": version, "userIdentity": ui, "eventTime": t,
         "eventSource": svc + ".amazonaws.com" if "." not in svc else svc,
         "eventName": name, "awsRegion": region, "sourceIPAddress": ip, "userAgent": ua}
    if error:
        if error[0]:
            r["errorCode"] = error[0]
        r["errorMessage"] = error[1]
    r["requestParameters"] = req
    r["responseElements"] = resp
    if extra is not None:
        r["additionalEventData"] = extra
    if rid is not None:
        r["requestID"] = rid
    r["eventID"] = eid
    r["readOnly"] = read_only
    if resources:
        r["resources"] = resources
    r["eventType"] = event_type
    if api_version:
        r["apiVersion"] = api_version
    r["managementEvent"] = category == "Management"
    r["recipientAccountId"] = acct
    if shared_event_id:
        r["sharedEventID"] = shared_event_id
    if service_details is not None:
        r["serviceEventDetails"] = service_details
    r["eventCategory"] = category
    if not no_tls and event_type == "AwsApiCall":
        base = svc.split(".")[0]
        r["tlsDetails"] = tls(base, region, tls_host)
    if console:
        r["sessionCredentialFromConsole"] = "true"
    return r


def dumps(rec):
    return json.dumps(rec, separators=(",", ":"))


def s3_extra(rng, bytes_out=0, bytes_in=0):
    return {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": bytes_in, "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": util.b64(rng, 76), "bytesTransferredOut": bytes_out}


def s3_rid(rng):
    return util.hexs(rng, 16).upper()
