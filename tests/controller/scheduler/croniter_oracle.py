#!/usr/bin/python3
"""Test oracle for controller/scheduler fire times, driven by croniter_diff_test.

Reads JSON lines {"expr", "tz", "start", "n"} on stdin and writes one JSON line
per input on stdout:

  rule     the next n fire times after `start` under clawback's stated rule,
           computed independently of the C++ code: croniter (python3-croniter)
           walks NAIVE local wall-clock times (pure field matching, no DST
           logic), and Python's zoneinfo maps each local time to an instant:
           a time that does not exist fires at the end of the gap, a repeated
           time fires at its first occurrence, equal instants fire once.
  croniter croniter's own time-zone-aware answer (tz-aware start datetime),
           or null when croniter raised.
  shifted  true when the zone's UTC offset is not the same at `start` and at
           every returned time (a DST transition lies in the window), which is
           where croniter's own DST handling is known to differ.
  error    set instead of the above when croniter rejects the expression.

Runs with Debian's /usr/bin/python3 and python3-croniter; no network.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

UTC = timezone.utc


def transition_end(tz, lo, hi):
    """Smallest instant in (lo, hi] whose offset differs from lo's."""
    off = datetime.fromtimestamp(lo, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return hi


def resolve(tz, naive):
    """Instant (epoch seconds) a matching naive local time fires at."""
    first = naive.replace(tzinfo=tz, fold=0)
    back = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back == naive:
        return int(first.timestamp())  # unique, or the first of a repeated time
    # Nonexistent (in a gap): fold=1 applies the post-gap offset (an instant
    # before the transition), fold=0 the pre-gap one (after it).
    a = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    b = int(first.timestamp())
    lo, hi = min(a, b), max(a, b)
    return transition_end(tz, lo, hi)


def rule_times(expr, tz, start, n):
    local = datetime.fromtimestamp(start, tz).replace(tzinfo=None, second=0, microsecond=0)
    # Begin a few hours early: a repeated local time may resolve after start.
    it = croniter(expr, local - timedelta(hours=4, minutes=1))
    out = []
    for _ in range(5000):
        t = resolve(tz, it.get_next(datetime))
        if t <= start or (out and t == out[-1]):
            continue
        out.append(t)
        if len(out) == n:
            break
    return out


def croniter_times(expr, tz, start, n):
    it = croniter(expr, datetime.fromtimestamp(start, tz))
    return [int(it.get_next(float)) for _ in range(n)]


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        tz = ZoneInfo(req["tz"])
        res = {}
        try:
            res["rule"] = rule_times(req["expr"], tz, req["start"], req["n"])
        except Exception as e:  # croniter rejected the expression
            res["error"] = "%s: %s" % (type(e).__name__, e)
            print(json.dumps(res), flush=False)
            continue
        try:
            res["croniter"] = croniter_times(req["expr"], tz, req["start"], req["n"])
        except Exception:
            res["croniter"] = None
        points = [req["start"]] + res["rule"] + (res["croniter"] or [])
        offsets = {datetime.fromtimestamp(p, tz).utcoffset() for p in points}
        res["shifted"] = len(offsets) > 1
        print(json.dumps(res))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
