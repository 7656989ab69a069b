"""Container healthchecks (stdlib only; exit 0 healthy, 1 not):

* ``probe.py URL``: GET URL answers 2xx or 3xx within 4 s;
* ``probe.py sensor [FILE]``: the sensor's status file (``health_file``) says ``standby``, or
  ``capturing`` and its ``/health`` answers 200;
* ``probe.py fresh FILE SECONDS``: FILE was touched less than SECONDS ago (scheduled jobs).
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

TIMEOUT_S = 4.0


def get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 - our own URL
            return 200 <= resp.status < 400
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code}")
        return False
    except (OSError, ValueError) as exc:
        print(f"{url}: {exc}")
        return False


def sensor(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            status = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"no sensor status yet ({exc})")
        return False
    state = status.get("state")
    print(f"sensor {state}")
    if state == "standby":
        return True
    return state == "capturing" and get(f"http://{status['metrics']}/health")


def fresh(path: str, max_age_s: float) -> bool:
    try:
        age = time.time() - os.stat(path).st_mtime
    except OSError as exc:
        print(exc)
        return False
    return age < max_age_s


def main(argv: list[str]) -> int:
    if len(argv) >= 1 and argv[0] == "sensor":
        ok = sensor(argv[1] if len(argv) > 1 else os.environ["CALLSIFT_HEALTH_FILE"])
    elif len(argv) == 3 and argv[0] == "fresh":
        ok = fresh(argv[1], float(argv[2]))
    elif len(argv) == 1:
        ok = get(argv[0])
    else:
        print(__doc__)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
