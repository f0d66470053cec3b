"""The places REST API on squall and squall.models.

    python examples/places/app.py [--port=8888] [--db=sqlite:///places.db]

``--db`` also takes ``mysql://user:pw@host/db`` or ``postgresql://...``; the
``SQUALL_DB`` / ``SQUALL_PORT`` environment variables and ``--config=FILE``
(Python or TOML) set the same options.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    __package__ = "examples.places"

import squall.db
from squall.models import Model
from squall.options import OptionParser
from squall.web import Application, url

from .handlers import MergeHandler, PlaceHandler, PlaceListHandler, VisitsHandler
from .models import Place, Visit

log = logging.getLogger("places")


def define_options(parser: OptionParser) -> None:
    parser.define("port", default=8888, type=int, help="port to listen on", group="server")
    parser.define("address", default="127.0.0.1", help="address to listen on", group="server")
    parser.define("debug", default=False, type=bool, help="debug mode (tracebacks)", group="server")
    parser.define("db", default="sqlite:///places.db", group="database",
                  help="database URL: sqlite:///file.db, mysql://..., postgresql://...")
    parser.define("db_pool_size", default=10, type=int, help="connections in the pool",
                  group="database")
    parser.define("config", default=None, type=str, group="server",
                  help="read options from this file (Python or .toml)")


def make_app(debug: bool = False) -> Application:
    return Application([
        url(r"/place", PlaceListHandler, name="places"),
        url(r"/place/([0-9]+)", PlaceHandler, name="place"),
        url(r"/place/([0-9]+)/visits", VisitsHandler, name="visits"),
        url(r"/place/([0-9]+)/merge", MergeHandler, name="merge"),
    ], debug=debug)


async def open_database(db_url: str, pool_size: int = 10) -> squall.db.Database:
    """Connect, bind the models and create their tables if missing."""
    db = await squall.db.connect(db_url, max_size=pool_size)
    Model.bind(db)
    await Place.create_table()
    await Visit.create_table()
    return db


async def serve(options: OptionParser) -> None:
    db = await open_database(options.db, options.db_pool_size)
    server = make_app(options.debug).listen(options.port, options.address)
    log.info("places API on http://%s:%d/place (database %s)", options.address, options.port,
             options.db)
    try:
        await asyncio.Event().wait()
    finally:
        server.stop()
        await server.close_all_connections(timeout=10)
        await db.close()


def main(argv: list[str] | None = None) -> None:
    from squall.log import enable_pretty_logging

    options = OptionParser()
    define_options(options)
    args = sys.argv if argv is None else argv
    options.parse_all(args=args, config_option="config", env_prefix="SQUALL_")
    enable_pretty_logging()
    try:
        asyncio.run(serve(options))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
