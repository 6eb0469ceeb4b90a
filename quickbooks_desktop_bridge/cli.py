"""``quickbooks-desktop-bridge``: the always-on web service the QuickBooks Web Connector polls."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os

import sqlalchemy as sa
from werkzeug.serving import make_server

from quickbooks_desktop_bridge.api import BridgeApp
from quickbooks_desktop_bridge.store import Store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("QBD_BRIDGE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("QBD_BRIDGE_PORT", "8085")))
    parser.add_argument("--database", default=os.environ.get("QBD_BRIDGE_DATABASE", "quickbooks-desktop-bridge.db"),
                        help="a SQLite file path (one process) or a PostgreSQL URL, postgresql://user:password@host/db "
                             "(production, several bridge processes); or QBD_BRIDGE_DATABASE")
    parser.add_argument("--username", default=os.environ.get("QBD_BRIDGE_USERNAME", "quickbooks"))
    parser.add_argument("--password", default=os.environ.get("QBD_BRIDGE_PASSWORD"),
                        help="what the bookkeeper types into the Web Connector (or QBD_BRIDGE_PASSWORD)")
    parser.add_argument("--api-key", default=os.environ.get("QBD_BRIDGE_API_KEY"),
                        help="what the connectors send as x-api-key (or QBD_BRIDGE_API_KEY)")
    parser.add_argument("--public-url", default=os.environ.get("QBD_BRIDGE_PUBLIC_URL"),
                        help="https URL the Web Connector reaches, written into the .qwc file")
    args = parser.parse_args(argv)
    if not args.password or not args.api_key:
        parser.error("--password and --api-key are required (or QBD_BRIDGE_PASSWORD / QBD_BRIDGE_API_KEY)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        store = Store(args.database)
    except (ValueError, ImportError, sa.exc.ArgumentError) as error:  # not SQLite or PostgreSQL, or no such URL
        parser.error(f"--database: {error}")
    app = BridgeApp(store, args.username, args.password, args.api_key, args.public_url)
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"QuickBooks Desktop bridge on http://{args.host}:{server.server_port} (SOAP at /qbwc, .qwc at /qwc)",
          flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
