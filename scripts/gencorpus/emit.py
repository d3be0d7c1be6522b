# SPDX-License-Identifier: Apache-2.0
"""Scripted events (benign scenarios and attacks): one full record at a time.

Slower than the template path but flexible; used for the few hundred events a day whose exact
content matters (sign-ins, key rotation, backups, the attack storyline...).
"""

from . import records as R
from . import util
from .routine import is_read_only


class DayIds:
    """Per-day session credentials (ASIA key, creationDate), shared by routine and scenarios."""

    def __init__(self, seed, day_index, day_epoch):
        self.rng = util.sub_rng(seed, "sessions", day_index)
        self.cache = {}
        self.day_epoch = day_epoch

    def session(self, *key, start=None):
        if key not in self.cache:
            asia = util.key_id(self.rng, "ASIA")
            off = start if start is not None else self.rng.randrange(0, 600)
            self.cache[key] = (asia, util.iso(self.day_epoch + off))
        return self.cache[key]


class Emitter:
    """Builds scripted records into `sink` as (second_of_day, (account, region), json, eventID)."""

    def __init__(self, rng, day_index, day_epoch, date_prefix, sink):
        self.rng = rng
        self.day_index = day_index
        self.day_epoch = day_epoch
        self.dpre = date_prefix
        self.sink = sink

    def __call__(self, acct, sec, ui, svc, name, region, ip, ua, req=None, resp=None, *, ro=None,
                 s3=False, event_type="AwsApiCall", category="Management", error=None,
                 extra=None, resources=None, console=False, version="1.09", tls_host=None,
                 no_tls=False, service_details=None, shared=False, no_rid=False):
        sec = max(0, min(86399, int(sec)))
        rid = None if no_rid else (R.s3_rid(self.rng) if s3 else util.uuid4(self.rng))
        eid = util.uuid4(self.rng)
        if ro is None:
            ro = is_read_only(name)
        if svc in R.GLOBAL_SERVICES:
            region = R.GLOBAL_REGION
        rec = R.record(ui, self.dpre + util.HMS[sec], svc, name, region, ip, ua, req, resp,
                       rid=rid, eid=eid, read_only=ro, acct=acct, event_type=event_type,
                       category=category, error=error, extra=extra, resources=resources,
                       tls_host=tls_host, no_tls=no_tls, console=console, version=version,
                       shared_event_id=util.uuid4(self.rng) if shared else None,
                       service_details=service_details)
        if event_type == "AwsConsoleSignIn":
            rec["tlsDetails"] = R.tls("signin", region, "signin.aws.amazon.com")
        s = R.dumps(rec)
        if rid is not None and R.M_RID in s:
            s = s.replace(R.M_RID, rid)
        self.sink.append((sec, (acct, region), s, eid))
        return eid

    def at(self, hh, mm=0, ss=0):
        return hh * 3600 + mm * 60 + ss
