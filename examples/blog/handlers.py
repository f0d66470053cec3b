"""The blog's pages: home, archive, one entry, compose, and signing in and out
(with a password, or with GitHub when the app is configured for it).

Every page is a Jinja2 template under ``templates/``; autoescaping is on, so an
entry's title and body reach the browser as text, never as markup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from squall.auth import AuthError, GitHubOAuth2Mixin
from squall.db.errors import IntegrityError
from squall.web import HTTPError, RequestHandler, authenticated

from .models import Author, Entry, utcnow
from .passwords import check_password_async

log = logging.getLogger("blog")

USER_COOKIE = "blog_user"
# Where to go after a GitHub sign-in: remembered across the trip to GitHub,
# since the callback URL must be exactly the registered one (no ?next=).
GITHUB_NEXT_COOKIE = "blog_github_next"
GITHUB_NEXT_MAX_AGE = 600  # seconds; as long as squall.auth keeps the sign-in's state
HOME_ENTRIES = 5
MAX_TITLE = 200
MAX_BODY = 100_000


class BaseHandler(RequestHandler):
    """Loads the signed-in author and renders error pages with the site layout."""

    async def prepare(self) -> None:
        # The signed cookie holds the author's id; a forged or expired cookie
        # reads as None. Loaded here because get_current_user cannot await.
        author_id = self.get_signed_cookie(USER_COOKIE)
        if author_id is not None and author_id.isdigit():
            self.current_user = await Author.get(int(author_id))

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace["blog_title"] = self.settings.get("blog_title", "squall blog")
        return namespace

    def login_user(self, author: Author) -> None:
        """Sign ``author`` in. Every way of proving who someone is (the password
        form, "sign in with GitHub") ends with this call."""
        self.set_signed_cookie(USER_COOKIE, str(author.id), httponly=True, samesite="Lax")
        self.current_user = author

    def next_url(self) -> str:
        """The local page to return to after signing in, never another site."""
        return local_path(self.get_argument("next", "/"))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if self.settings.get("serve_traceback"):
            super().write_error(status_code, **kwargs)
            return
        self.render("error.html", status_code=status_code, reason=self._reason, message=None)


def local_path(target: str) -> str:
    """``target`` if it is a path on this site, else ``"/"``: never another site."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def authors_by_id(entries: list[Entry]) -> dict[int, Author]:
    ids = {entry.author_id for entry in entries}
    authors = [await Author.get(author_id) for author_id in sorted(ids)]
    return {author.id: author for author in authors if author is not None}


async def entry_or_404(entry_id: str) -> Entry:
    entry = await Entry.get(int(entry_id))
    if entry is None:
        raise HTTPError(404, "no entry with id %s", entry_id)
    return entry


class HomeHandler(BaseHandler):
    async def get(self) -> None:
        entries = await Entry.find(order_by="-id", limit=HOME_ENTRIES)
        await self.render("home.html", entries=entries, authors=await authors_by_id(entries),
                          more=await Entry.count() > len(entries))


class ArchiveHandler(BaseHandler):
    async def get(self) -> None:
        entries = await Entry.find(order_by="-id")
        await self.render("archive.html", entries=entries, authors=await authors_by_id(entries))


class EntryHandler(BaseHandler):
    async def get(self, entry_id: str) -> None:
        entry = await entry_or_404(entry_id)
        await self.render("entry.html", entry=entry, author=await Author.get(entry.author_id))


class ComposeHandler(BaseHandler):
    """Write a new entry, or edit one of your own with ``?id=N``."""

    async def own_entry(self) -> Entry | None:
        entry_id = self.get_argument("id", "")
        if not entry_id:
            return None
        if not entry_id.isdigit():
            raise HTTPError(400, "id must be an entry number, got %r", entry_id)
        entry = await entry_or_404(entry_id)
        if entry.author_id != self.current_user.id:
            raise HTTPError(403, "entry %s belongs to another author", entry_id)
        return entry

    @authenticated
    async def get(self) -> None:
        entry = await self.own_entry()
        await self.render("compose.html", entry=entry, error=None,
                          title=entry.title if entry else "", body=entry.body if entry else "")

    @authenticated
    async def post(self) -> None:
        entry = await self.own_entry()
        title = self.get_argument("title", "")
        # Browsers send CRLF line ends; keep the author's spacing otherwise.
        body = self.get_argument("body", "", strip=False).replace("\r\n", "\n").rstrip()
        error = None
        if not title or not body.strip():
            error = "An entry needs a title and a body."
        elif len(title) > MAX_TITLE:
            error = f"The title is longer than {MAX_TITLE} characters."
        elif len(body) > MAX_BODY:
            error = f"The body is longer than {MAX_BODY} characters."
        if error is not None:
            self.set_status(400)
            await self.render("compose.html", entry=entry, error=error, title=title, body=body)
            return
        if entry is None:
            entry = Entry(author_id=self.current_user.id, title=title, body=body)
        else:
            entry.title, entry.body, entry.updated = title, body, utcnow()
        await entry.save()
        self.redirect(self.reverse_url("entry", entry.id))


class LoginHandler(BaseHandler):
    async def get(self) -> None:
        if self.current_user:
            self.redirect(self.next_url())
            return
        await self.render("login.html", error=None, name="", next=self.next_url())

    async def post(self) -> None:
        name = self.get_argument("name", "")
        password = self.get_argument("password", "", strip=False)
        found = await Author.find(name=name, limit=1) if name else []
        author = found[0] if found else None
        matched = await check_password_async(password, author.password_hash if author else None)
        if author is None or not matched:
            self.set_status(403)
            await self.render("login.html", error="Wrong name or password.", name=name,
                              next=self.next_url())
            return
        self.login_user(author)
        self.redirect(self.next_url())


class LogoutHandler(BaseHandler):
    # POST only, with the XSRF token: a link on another site cannot sign you out.
    def post(self) -> None:
        self.clear_cookie(USER_COOKIE)
        self.redirect(self.next_url())


class GitHubLoginHandler(BaseHandler, GitHubOAuth2Mixin):
    """``/auth/github``: off to GitHub, then back here to sign in as its author.

    Routed only when the ``github_oauth`` setting exists (``--github-client-id``).
    The mixin keeps state and the PKCE verifier in a signed cookie; a refused,
    forged or replayed callback is an :class:`AuthError` and answers a 4xx page.
    """

    async def get(self) -> None:
        if not any(self.get_argument(name, None) is not None
                   for name in ("code", "error", "state")):
            if self.current_user:
                self.redirect(self.next_url())
                return
            self.set_signed_cookie(GITHUB_NEXT_COOKIE, self.next_url(), expires_days=None,
                                   max_age=GITHUB_NEXT_MAX_AGE, httponly=True, samesite="Lax")
            # No scope: the public profile (id, login) is all the blog needs.
            self.authorize_redirect(redirect_uri=self.reverse_url("github_login"))
            return
        next_cookie = self.get_signed_cookie(GITHUB_NEXT_COOKIE,
                                             max_age_days=GITHUB_NEXT_MAX_AGE / 86400)
        self.clear_cookie(GITHUB_NEXT_COOKIE)
        try:
            user = await self.get_authenticated_user()
            author = await github_author(user)
        except AuthError as err:
            log.warning("GitHub sign-in failed: %s", err)
            self.set_status(err.status_code)
            message = ("You cancelled signing in with GitHub." if err.status_code == 403
                       and self.get_argument("error", None) == "access_denied"
                       else "Signing in with GitHub did not work; please try again.")
            await self.render("error.html", status_code=err.status_code, reason=self._reason,
                              message=message)
            return
        self.login_user(author)
        self.redirect(local_path(next_cookie.decode("utf-8", "replace") if next_cookie else "/"))


async def github_author(user: Mapping[str, Any]) -> Author:
    """The author linked to GitHub account ``user``, created on its first sign-in.

    A new author is named ``gh:<login>`` (``gh:<login>#<id>`` if another
    account once had that login) and has no password hash, so the password
    form can never sign in as them.
    """
    raw_id, login = user.get("id"), user.get("login")
    if isinstance(raw_id, bool) or not str(raw_id).isdigit() \
            or not isinstance(login, str) or not login:
        raise AuthError("GitHub", "the user info has no numeric id and login")
    github_id = int(str(raw_id))
    found = await Author.find(github_id=github_id, limit=1)
    if found:
        return found[0]
    name = f"gh:{login}"
    if await Author.count(name=name):
        name = f"gh:{login}#{github_id}"
    try:
        return await Author.create(name=name, github_id=github_id, password_hash=None)
    except IntegrityError:
        # The same account's first sign-in in two tabs at once: one insert won.
        found = await Author.find(github_id=github_id, limit=1)
        if not found:
            raise
        return found[0]
