"""Placeholder tokens: swapped once for their HTML, never rescanned."""

from __future__ import annotations

from auditbook.site.placeholders import Placeholders


def test_paragraph_is_replaced():
    placeholders = Placeholders()
    token = placeholders.add("page.md", lambda links: f"<div>{links}</div>")

    html, missing = placeholders.substitute("page.md", f"<p>{token}</p>", "L")

    assert html == "<div>L</div>"
    assert missing == []


def test_bare_token_is_replaced():
    placeholders = Placeholders()
    token = placeholders.add("page.md", lambda _: "<div>x</div>")

    html, _ = placeholders.substitute("page.md", f"<li>{token}</li>", None)

    assert html == "<li><div>x</div></li>"


def test_inserted_html_is_not_rescanned():
    placeholders = Placeholders()
    second = placeholders.add("page.md", lambda _: "SECOND")
    first = placeholders.add("page.md", lambda _: second)

    html, _ = placeholders.substitute("page.md", f"<p>{first}</p>", None)

    assert html == second


def test_other_page_tokens_are_left():
    placeholders = Placeholders()
    token = placeholders.add("other.md", lambda _: "HTML")
    placeholders.add("page.md", lambda _: "")

    html, _ = placeholders.substitute("page.md", f"<p>{token}</p>", None)

    assert html == f"<p>{token}</p>"


def test_missing_token_is_reported():
    placeholders = Placeholders()
    token = placeholders.add("page.md", lambda _: "HTML")

    html, missing = placeholders.substitute("page.md", "<p>gone</p>", None)

    assert html == "<p>gone</p>"
    assert missing == [token]
