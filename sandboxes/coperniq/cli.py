"""``coperniq-sandbox``: serve a seeded Coperniq sandbox until Ctrl-C.

    coperniq-sandbox --port 8081 --api-key sandbox-key --projects 200 --seed 42

Prints the base URL and the API key first (one per line, flushed) so a script can read them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from sandboxes.coperniq import DEFAULT_API_KEY, make_sandbox


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coperniq-sandbox",
                                     description="A local sandbox of the Coperniq REST API (/v1).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (default: 8081; 0 picks a free one)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY,
                        help=f"the accepted x-api-key (default: {DEFAULT_API_KEY})")
    parser.add_argument("--projects", type=int, default=200, help="projects to seed (default: 200)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the data (default: 42)")
    parser.add_argument("--daily-quota", type=int, default=5000,
                        help="requests per rolling 24 hours per key (default: 5000; 0 = unlimited)")
    parser.add_argument("--per-second-limit", type=int, default=100,
                        help="requests per second per key (default: 100; 0 = unlimited)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    sandbox = make_sandbox(
        api_key=args.api_key, projects=args.projects, seed=args.seed, host=args.host, port=args.port,
        daily_quota=args.daily_quota or None, per_second_limit=args.per_second_limit or None,
    )
    sandbox.start()
    print(f"Coperniq sandbox listening on {sandbox.base_url}", flush=True)
    print(f"API key (x-api-key header): {sandbox.api_key}", flush=True)
    counts = sandbox.backend.counts()
    print(f"Seeded in {time.monotonic() - started:.1f}s: {counts['projects']} projects, {counts['contacts']} "
          f"contacts, {counts['invoices']} invoices, {counts['catalog_items']} catalog items (seed {args.seed}). "
          f"Admin API: {sandbox.url}/_sandbox/requests and /_sandbox/faults. Ctrl-C stops.", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # SIGTERM (e.g. a test's terminate()) stops as cleanly as Ctrl-C does
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Coperniq sandbox stopped.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
