"""Router: rules matched in order, literal paths answered from a dict."""

from __future__ import annotations

import re

from squall.routing import Router, URLSpec
from squall.web import RequestHandler


class A(RequestHandler):
    pass


class B(RequestHandler):
    pass


def _handler(router: Router, path: str) -> type | None:
    match = router.find(path)
    return None if match is None else match.spec.handler_class


def test_literal_rule_is_found_with_no_arguments() -> None:
    router = Router(rules=[(r"/a/([0-9]+)", B), (r"/plain", A)])
    match = router.find("/plain")
    assert match is not None
    assert match.spec.handler_class is A
    assert match.path_args == [] and match.path_kwargs == {}
    assert router.find("/plainer") is None


def test_an_earlier_regex_rule_still_wins_over_a_later_literal_rule() -> None:
    router = Router(rules=[(r"/p.*", B), (r"/plain", A)])
    assert _handler(router, "/plain") is B


def test_the_first_of_two_identical_literal_rules_wins() -> None:
    router = Router(rules=[(r"/plain", A), (r"/plain", B), (r"^/plain$", B)])
    assert _handler(router, "/plain") is A


def test_a_literal_rule_wins_over_a_later_regex_rule() -> None:
    router = Router(rules=[(r"/plain", A), (r"/.*", B)])
    assert _handler(router, "/plain") is A
    assert _handler(router, "/other") is B


def test_literal_rules_keep_the_regex_semantics_of_dollar() -> None:
    # ``$`` also matches before a final newline; the dict must not change that.
    router = Router(rules=[(r"/plain", A)])
    assert _handler(router, "/plain\n") is A


def test_patterns_with_regex_syntax_or_flags_are_not_literal() -> None:
    assert URLSpec(r"/plain", A).literal == "/plain"
    assert URLSpec(r"^/plain$", A).literal == "/plain"
    assert URLSpec(r"/a.b", A).literal is None
    assert URLSpec(r"/a\.b", A).literal is None
    assert URLSpec(r"/(a)", A).literal is None
    assert URLSpec(re.compile(r"/plain$", re.IGNORECASE), A).literal is None
    router = Router(rules=[(re.compile(r"/plain$", re.IGNORECASE), A)])
    assert _handler(router, "/PLAIN") is A


def test_rules_added_later_or_directly_are_still_matched_in_order() -> None:
    router = Router(rules=[(r"/a/(.*)", B)])
    assert _handler(router, "/plain") is None
    router.add_rule((r"/plain", A))
    assert _handler(router, "/plain") is A
    router.rules.insert(0, URLSpec(r"/pl.*", B))
    assert _handler(router, "/plain") is B
    assert _handler(router, "/a/x") is B


def test_groups_are_captured_as_bytes_and_url_decoded() -> None:
    router = Router(rules=[(r"/one/([^/]*)", A), (r"/two/([^/]*)/(x)?", B)])
    match = router.find("/one/caf%C3%A9")
    assert match is not None and match.path_args == ["café".encode()]
    match = router.find("/two/a/")
    assert match is not None and match.path_args == [b"a", b""]
