"""A small blog on squall: Tornado's classic blog demo, with Jinja2 and squall.models.

    python examples/blog/app.py --create-author alice 's3cret'   # once: who may write
    python examples/blog/app.py --port=8888 --cookie-secret=...   # then serve

Entries are plain text, shown escaped with their line breaks kept. Signing in
sets a signed cookie; compose and logout are XSRF-protected forms. ``--db``
takes the same URLs as the places example (SQLite by default, nothing to
install); ``SQUALL_*`` environment variables and ``--config=FILE`` set the same
options.

Sign in with GitHub (optional). Register an OAuth app at
https://github.com/settings/developers ("New OAuth App") with the
*Authorization callback URL* ``http://HOST:PORT/auth/github`` -- the address
people use to reach the blog, e.g. ``http://localhost:8888/auth/github`` -- and
start the blog with its client id and a client secret generated there:

    python examples/blog/app.py --port=8888 --cookie-secret=... \\
        --github-client-id=Iv1.0123abcd --github-client-secret=...

The login page then offers "Sign in with GitHub" (``/auth/github``). The first
sign-in of a GitHub account creates the author ``gh:<login>``, linked to the
account's id and without a password, so only GitHub can sign in as them.
``--github-authorize-url``, ``--github-access-token-url`` and
``--github-user-url`` point at GitHub Enterprise Server or another provider
with GitHub's API. Without ``--github-client-id`` there is no ``/auth/github``
route and no button. docs/auth.md has the details.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import secrets
import sys
from typing import Any

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    __package__ = "examples.blog"

import squall.db
from squall.options import OptionParser
from squall.web import Application, url

from .handlers import (
    ArchiveHandler,
    ComposeHandler,
    EntryHandler,
    GitHubLoginHandler,
    HomeHandler,
    LoginHandler,
    LogoutHandler,
)
from .models import MODELS, Author
from .passwords import hash_password_async

log = logging.getLogger("blog")
HERE = os.path.dirname(os.path.abspath(__file__))


# The endpoints of GitHub's OAuth flow that --github-<name> options override.
GITHUB_ENDPOINTS = {
    "authorize_url": "https://github.com/login/oauth/authorize",
    "access_token_url": "https://github.com/login/oauth/access_token",
    "user_url": "https://api.github.com/user",
}


def define_options(parser: OptionParser) -> None:
    parser.define("port", default=8888, type=int, help="port to listen on", group="server")
    parser.define("address", default="127.0.0.1", help="address to listen on", group="server")
    parser.define("debug", default=False, type=bool, help="debug mode (tracebacks, template reload)",
                  group="server")
    parser.define("config", default=None, type=str, group="server",
                  help="read options from this file (Python or .toml)")
    parser.define("db", default="sqlite:///blog.db", group="database",
                  help="database URL: sqlite:///file.db, mysql://..., postgresql://...")
    parser.define("db_pool_size", default=10, type=int, help="connections in the pool",
                  group="database")
    parser.define("cookie_secret", default=None, type=str, group="blog",
                  help="key signing the login cookie (default: random, so restarts sign everyone out)")
    parser.define("blog_title", default="squall blog", group="blog", help="the site's name")
    parser.define("create_author", default=None, type=str, metavar="NAME", group="blog",
                  help="create author NAME (or reset their password) and exit; "
                       "the password follows as an argument or is asked for")
    parser.define("github_client_id", default=None, type=str, group="github",
                  help="GitHub OAuth app client id: enables 'Sign in with GitHub' (/auth/github)")
    parser.define("github_client_secret", default=None, type=str, group="github",
                  help="GitHub OAuth app client secret (required with --github-client-id)")
    for endpoint, default in GITHUB_ENDPOINTS.items():
        parser.define(f"github_{endpoint}", default=None, type=str, group="github",
                      help=f"override {default} (GitHub Enterprise Server, a test provider)")


def make_app(cookie_secret: str, *, debug: bool = False, blog_title: str = "squall blog",
             github_client_id: str | None = None,
             github_client_secret: str | None = None,
             github_authorize_url: str | None = None,
             github_access_token_url: str | None = None,
             github_user_url: str | None = None) -> Application:
    """The blog application; ``/auth/github`` is routed only with a ``github_client_id``.

    The ``github_*`` arguments are the ``github`` option group, so
    ``make_app(secret, **options.group_dict("github"))`` passes them all; the
    ``*_url`` ones replace GitHub's endpoints (see GITHUB_ENDPOINTS).
    """
    if not cookie_secret:
        raise ValueError("make_app needs a non-empty cookie_secret to sign login cookies")
    github_routes = []
    github_settings: dict[str, Any] = {}
    if github_client_id:
        if not github_client_secret:
            raise ValueError("a github_client_id needs its github_client_secret "
                             "(both come from the GitHub OAuth app's settings page)")
        overrides = {"authorize_url": github_authorize_url,
                     "access_token_url": github_access_token_url,
                     "user_url": github_user_url}
        github_settings["github_oauth"] = {
            "key": github_client_id, "secret": github_client_secret,
            **{name: value for name, value in overrides.items() if value},
        }
        github_routes.append(url(r"/auth/github", GitHubLoginHandler, name="github_login"))
    return Application([
        url(r"/", HomeHandler, name="home"),
        url(r"/archive", ArchiveHandler, name="archive"),
        url(r"/entry/([0-9]+)", EntryHandler, name="entry"),
        url(r"/compose", ComposeHandler, name="compose"),
        url(r"/auth/login", LoginHandler, name="login"),
        url(r"/auth/logout", LogoutHandler, name="logout"),
        *github_routes,
    ],
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        cookie_secret=cookie_secret,
        xsrf_cookies=True,
        login_url="/auth/login",
        blog_title=blog_title,
        github_client_id=github_client_id,
        debug=debug,
        **github_settings,
    )


async def open_database(db_url: str, pool_size: int = 10) -> squall.db.Database:
    """Connect, bind the blog's models (only those) and create their tables if missing."""
    db = await squall.db.connect(db_url, max_size=pool_size)
    for model in MODELS:
        model.bind(db)
        await model.create_table()
    await add_github_id_column(db)
    return db


async def add_github_id_column(db: squall.db.Database) -> None:
    """Give an ``authors`` table made before GitHub sign-in its ``github_id`` column.

    CREATE TABLE IF NOT EXISTS leaves an existing table as it was. The added
    column is not UNIQUE (SQLite cannot add one that is); github_author looks
    the id up before inserting, which keeps it unique in practice.
    """
    try:
        await db.query("SELECT github_id FROM authors WHERE 1 = 0")
    except squall.db.DatabaseError:
        await db.execute("ALTER TABLE authors ADD COLUMN github_id BIGINT")


async def create_author(name: str, password: str) -> Author:
    """Add an author who signs in with ``password``, or give an existing one that password."""
    if not name or not password:
        raise ValueError("an author needs a non-empty name and password")
    found = await Author.find(name=name, limit=1)
    author = found[0] if found else Author(name=name)
    author.password_hash = await hash_password_async(password)
    await author.save()
    return author


async def run_create_author(options: OptionParser, password: str) -> None:
    db = await open_database(options.db, 1)
    try:
        author = await create_author(options.create_author, password)
    finally:
        await db.close()
    print(f"author {author.name!r} (id {author.id}) can sign in at /auth/login")


async def serve(options: OptionParser) -> None:
    cookie_secret = options.cookie_secret
    if not cookie_secret:
        log.warning("no --cookie-secret: using a random one, so a restart signs everyone out")
        cookie_secret = secrets.token_urlsafe(32)
    db = await open_database(options.db, options.db_pool_size)
    app = make_app(cookie_secret, debug=options.debug, blog_title=options.blog_title,
                   **options.group_dict("github"))
    server = app.listen(options.port, options.address)
    if not await Author.count():
        log.warning("no authors yet: add one with --create-author NAME PASSWORD")
    log.info("blog on http://%s:%d/ (database %s)", options.address, options.port, options.db)
    if options.github_client_id:
        log.info("sign in with GitHub: the OAuth app's callback URL must be "
                 "http://%s:%d/auth/github (or the public address of this blog)",
                 options.address, options.port)
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
    rest = options.parse_all(args=args, config_option="config", env_prefix="SQUALL_")
    enable_pretty_logging()
    if options.create_author:
        # The password is a positional argument, which ends option parsing:
        # options written after it still count.
        password = rest[0] if rest else getpass.getpass(f"password for {options.create_author}: ")
        if rest[1:] and options.parse_command_line([args[0], *rest[1:]]):
            sys.exit("--create-author takes NAME PASSWORD; other arguments must be --options")
        asyncio.run(run_create_author(options, password))
        return
    if options.github_client_id and not options.github_client_secret:
        sys.exit("--github-client-id needs --github-client-secret (both are on the "
                 "GitHub OAuth app's page)")
    if rest:
        sys.exit(f"unexpected arguments {rest}; options are written --name=value (see --help)")
    try:
        asyncio.run(serve(options))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
