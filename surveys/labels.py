"""Labels, hints and choices as their authors meant them: the formatting ODK renders, inert.

ODK Collect and Enketo render a safe subset of Markdown in labels (emphasis, strong,
headings, links) and a little HTML (``<span style="color:...">``, ``<b>``, ``<i>``, ``<u>``,
``<br>``). The text is rendered with markdown-it (CommonMark, HTML passed through) and then
cleaned by nh3 (the Ammonia sanitiser) to those tags, ``href`` and ``style`` attributes, a
few style properties and http(s)/mailto links: no script, no event handler, no other URL
scheme survives. ``${name}`` in a label shows that question's answer, escaped, after the
sanitising (an answer is text, never markup).

The pages' Content-Security-Policy refuses style attributes, so a sanitised ``style`` leaves
here as ``data-style`` and the site's script (static/site/styles.js) applies it through the
CSS object model, which the policy allows. The sanitiser runs first: an author's own
``data-style`` never survives it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "span", "a", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li"}
_ATTRIBUTES = {"span": {"style"}, "a": {"href", "title"}}
_STYLES = {"color", "font-family", "font-weight", "font-style", "text-decoration", "background-color"}
_SCHEMES = {"http", "https", "mailto"}
_REFERENCE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_PLACEHOLDER = "kelu-answer-{}-end"
_PLACEHOLDER_RE = re.compile(r"kelu-answer-(\d+)-end")
_STYLE_ATTRIBUTE_RE = re.compile(r'<span style="')
_MARKUP_HINT_RE = re.compile(r"[*_#\[<`~]|^\s*[-+]\s|^\s*\d+\.\s", re.M)

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "breaks": True}).disable(["image", "code"])


def _clean(body: str) -> str:
    return nh3.clean(
        body,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        filter_style_properties=_STYLES,
        link_rel="noopener noreferrer nofollow",
    )


@lru_cache(maxsize=4096)
def _rendered(text: str) -> tuple[str, tuple[str, ...]]:
    """Sanitised HTML of a label, with placeholders where its ${references} go."""
    names: list[str] = []

    def hold(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return _PLACEHOLDER.format(len(names) - 1)

    held = _REFERENCE_RE.sub(hold, text)
    if _MARKUP_HINT_RE.search(held):
        body = _markdown.render(held).strip()
        if body.startswith("<p>") and body.endswith("</p>") and body.count("<p>") == 1:
            body = body[3:-4]  # one paragraph: inline, as a label sits in a <label> or <legend>
        body = _clean(body)
    else:
        body = html.escape(held, quote=False).replace("\n", "<br>")
    return body, tuple(names)


def render_label(text: str, answer_text: Callable[[str], str] | None = None) -> SafeString:
    """A label as HTML that is safe to insert: formatting rendered, answers shown as text."""
    if not text:
        return mark_safe("")  # noqa: S308 (empty)
    body, names = _rendered(text)
    if names:

        def answer(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= len(names):
                return ""  # the author's own text looked like a placeholder
            return html.escape(answer_text(names[index]) if answer_text else "", quote=True)

        # An answer may land in an attribute (a link's href, a style): cleaned once more, so
        # "javascript:..." or extra style properties given as an answer are dropped too.
        body = _clean(_PLACEHOLDER_RE.sub(answer, body))
    body = _STYLE_ATTRIBUTE_RE.sub('<span data-style="', body)  # after the last sanitising
    return mark_safe(body)  # noqa: S308 (sanitised by nh3; answers escaped)


def plain_label(text: str) -> str:
    """A label's words without formatting (for e-mails, exports and page titles)."""
    body, _names = _rendered(text)
    body = _PLACEHOLDER_RE.sub("", body)  # a ${name} in a title: no answer there
    return html.unescape(re.sub(r"<[^>]+>", "", body.replace("<br>", " ")))
