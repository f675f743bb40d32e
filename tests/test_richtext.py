"""The SE's own HTML for the customer's HTML part (pure): cut from the quote, sanitised, and only
when it says exactly the words of the text part that every check read."""

from __future__ import annotations

import pytest

from gateway.mail import reading, richtext
from tests.replies import Reply, corpus

HTML_CASES = [r for r in corpus() if r.html and r.words]


@pytest.mark.parametrize("reply", HTML_CASES, ids=lambda r: r.name)
def test_a_real_clients_html_gives_the_writers_words_or_nothing(reply: Reply) -> None:
    got = richtext.own_html(reply.html, reply.words)
    if got is None:
        return  # the client's HTML and text parts disagree (talon's outlook.eml): text is used
    # The same words (a paragraph may be spaced otherwise once Outlook's classes are gone).
    assert (
        reading.read("", str(got)).split() == (reading.read("", reply.html) or reply.words).split()
    )
    for history in ("Hi there", "How are you", "wrote:", "Original Message", "From:"):
        assert history not in got


def test_most_real_client_html_keeps_its_formatting() -> None:
    kept = [r.name for r in HTML_CASES if richtext.own_html(r.html, r.words) is not None]
    assert len(kept) >= len(HTML_CASES) - 1, kept  # all but talon's disagreeing outlook.eml


def test_formatting_is_kept_and_everything_active_is_not() -> None:
    html = (
        '<div style="color: red" onclick="steal()">Clear the <b>cache</b>, then:<ol>'
        '<li>upgrade</li><li>restart</li></ol>See <a href="https://docs.example.com/cache" '
        'style="x">the guide</a>.<script>alert(1)</script><img src="https://tracker.example/p.gif">'
        "<style>body{}</style><!-- internal --></div>"
    )
    text = (
        "Clear the cache, then:\n1. upgrade\n2. restart\n"
        "See the guide <https://docs.example.com/cache>."
    )
    got = str(richtext.own_html(html, text))
    assert "<b>cache</b>" in got and "<li>upgrade</li>" in got
    assert '<a href="https://docs.example.com/cache" rel="noopener noreferrer nofollow">' in got
    for active in ("red", "onclick", "script", "alert", "img", "tracker", "style", "internal"):
        assert active not in got, active


def test_words_the_text_part_does_not_carry_mean_the_text_is_used() -> None:
    # A hidden paragraph (or a quote we could not cut) is in the HTML, not in the text the
    # checks read: the HTML is not used, so it cannot reach the customer.
    html = (
        '<p>Please upgrade to 4.2.</p><p style="display:none">Internal: Acme is behind on'
        " payment</p>"
    )
    assert richtext.own_html(html, "Please upgrade to 4.2.") is None
    assert richtext.own_html("<p>Please upgrade.</p>", "Please upgrade to 4.2.") is None


def test_a_link_goes_only_where_the_text_part_says() -> None:
    relay = "mailto:support+SUP-1001.abc123@example.com"
    html = f'<p>Write to <a href="{relay}">us</a> or see <a href="javascript:x()">this</a>.</p>'
    got = str(richtext.own_html(html, "Write to us or see this."))
    assert "SUP-1001" not in got and "javascript" not in got
    assert "Write to <a" in got  # the words stay, without where the link went


def test_the_quote_and_the_copy_below_are_cut() -> None:
    html = (
        '<div dir="ltr">Fixed in <i>4.2.1</i>.</div><div class="gmail_quote">'
        '<div class="gmail_attr">On Mon, Support wrote:</div><blockquote>## Reply above this line'
        " ##<br>Routed: sam"
        '</blockquote></div><div id="divRplyFwdMsg">From: Support<br>Promised: Tuesday</div>'
    )
    got = str(richtext.own_html(html, "Fixed in 4.2.1."))
    assert got == "<div>Fixed in <i>4.2.1</i>.</div>"
