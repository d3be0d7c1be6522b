# SPDX-License-Identifier: Apache-2.0
"""Deterministic identifiers and time helpers shared by the generator modules.

Every random value comes from a random.Random passed in by the caller: no wall clock, no
os.urandom, no uuid.uuid4(), so that the same arguments always give byte-identical output.
"""

import datetime as _dt
import random

UTC = _dt.timezone.utc

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # AWS key ids use base32-ish upper case
_HEX = "0123456789abcdef"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# "HH:MM:SSZ" for every second of a day: eventTime = date prefix + HMS[second of day].
HMS = ["%02d:%02d:%02dZ" % (s // 3600, (s // 60) % 60, s % 60) for s in range(86400)]


def sub_rng(seed, *parts):
    """An independent, deterministic stream for one purpose (world, day N, attacks...)."""
    return random.Random("gencorpus:%s:%s" % (seed, ":".join(str(p) for p in parts)))


def uuid4(rng):
    h = "%032x" % rng.getrandbits(128)
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3],
                                  h[17:20], h[20:32])


def uuid_from_hex(h):
    """uuid4-shaped string from 32 hex digits (variant and version nibbles forced)."""
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3],
                                  h[17:20], h[20:32])


def alnum(rng, n):
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def hexs(rng, n):
    return "".join(rng.choice(_HEX) for _ in range(n))


def b64(rng, n):
    return "".join(rng.choice(_B64) for _ in range(n))


def key_id(rng, prefix):
    """AKIA... / ASIA... / AIDA... / AROA... style 20-character identifiers."""
    return prefix + "".join(rng.choice(_KEY_CHARS) for _ in range(20 - len(prefix)))


def session_token(rng):
    return "IQoJb3JpZ2luX2VjE" + b64(rng, 120)


def iso(ts):
    """Epoch seconds -> 2026-11-01T10:00:00Z."""
    return _dt.datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_date(ts):
    """Epoch seconds -> 'Nov 1, 2026, 10:00:00 AM' (IAM/STS responseElements style)."""
    d = _dt.datetime.fromtimestamp(ts, UTC)
    hour = d.hour % 12 or 12
    return "%s %d, %d, %d:%02d:%02d %s" % (d.strftime("%b"), d.day, d.year, hour, d.minute,
                                          d.second, "AM" if d.hour < 12 else "PM")


def epoch(date):
    """datetime.date -> epoch seconds of its midnight UTC."""
    return int(_dt.datetime(date.year, date.month, date.day, tzinfo=UTC).timestamp())


def kebab(name):
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and not name[i - 1].isupper():
            out.append("-")
        out.append(c.lower())
    return "".join(out)
