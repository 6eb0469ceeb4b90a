"""``quickbooks-sandbox``: serve a seeded QuickBooks Online sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from . import QuickBooksSandbox


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quickbooks-sandbox",
        description="A local QuickBooks Online Accounting API and Intuit OAuth 2.0 token endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082, help="0 picks a free port (default 8082)")
    parser.add_argument("--realm-id", default="9130357")
    parser.add_argument("--client-id", default="sandbox-client")
    parser.add_argument("--client-secret", default="sandbox-secret")
    parser.add_argument("--refresh-token", default="sandbox-refresh-token", help="the initial refresh token")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--invoices", type=int, default=80)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-throttle", action="store_true", help="switch off the 500/min, 10/s limits")
    parser.add_argument("--time-scale", type=float, default=1.0, help="0.1 makes the throttle windows 10x shorter")
    parser.add_argument("--access-token-ttl", type=int, default=3600, help="seconds (default 3600)")
    parser.add_argument("--refresh-token-grace", type=float, default=0.0,
                        help="seconds a rotated refresh token keeps working (default 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sandbox = QuickBooksSandbox(
        realm_id=args.realm_id, client_id=args.client_id, client_secret=args.client_secret,
        refresh_token=args.refresh_token, customers=args.customers, invoices=args.invoices, seed=args.seed,
        throttle=not args.no_throttle, access_token_ttl=args.access_token_ttl, time_scale=args.time_scale,
        host=args.host, port=args.port, refresh_token_grace=args.refresh_token_grace,
    )
    sandbox.start()
    counts = sandbox.backend.counts()
    print(
        f"QuickBooks sandbox: {counts['customers']} customers, {counts['invoices']} invoices (seed {args.seed})\n"
        f"  API base URL:   {sandbox.base_url}   (API under {sandbox.api_url}/)\n"
        f"  token URL:      {sandbox.token_url}\n"
        f"  discovery URL:  {sandbox.discovery_url}\n"
        f"  realm id:       {sandbox.realm_id}\n"
        f"  client id:      {sandbox.client_id}\n"
        f"  client secret:  {sandbox.client_secret}\n"
        f"  refresh token:  {sandbox.refresh_token}   (rotates on every refresh: store the new one)\n"
        f"  throttle:       {'off' if args.no_throttle else 'on'}; admin API under {sandbox.base_url}/_sandbox/\n"
        "Ctrl-C to stop.",
        flush=True,
    )
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
