"""Runs one command and measures it the same way for a connector and for its bare baseline.

    python -m benchmarks.meter -- COMMAND [ARGS...]

Standard library only, and a process of its own: the benchmark's main process serves the
sandboxes, so reading the measured process's output there would steal their CPU and GIL. Prints
one JSON line:

- ``records``: RECORD lines the command printed (its other output is read and discarded);
- ``first_record`` / ``last_record``: ``time.monotonic()`` when the first and last arrived (the
  same system-wide clock the sandboxes stamp requests with, so the caller can time a read from
  its first API request to its last record, leaving out interpreter start and imports);
- ``started`` / ``ended``: when the command was spawned and when it exited;
- ``max_rss_kb``: the command's peak resident memory, from ``wait4`` on that one child, so it is
  the connector's own and not the meter's; ``cpu_seconds``, its user + system time, from the same call;
- ``returncode`` and the last lines of its standard error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

RECORD_PREFIXES = (b'{"type": "RECORD"', b'{"type":"RECORD"')


def measure(command: list[str]) -> dict[str, object]:
    with tempfile.TemporaryFile() as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, bufsize=1 << 20)
        assert process.stdout is not None
        records, first, last = 0, None, None
        for line in process.stdout:
            if line.startswith(RECORD_PREFIXES):
                last = time.monotonic()
                if first is None:
                    first = last
                records += 1
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        stderr.seek(0)
        tail = stderr.read()[-3000:].decode("utf-8", "replace")
    return {"records": records, "first_record": first, "last_record": last, "started": started, "ended": ended,
            "max_rss_kb": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "returncode": process.returncode, "stderr": tail}


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m benchmarks.meter -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    print(json.dumps(measure(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
