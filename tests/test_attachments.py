"""Files in mail: names that are only names, inline images with their Content-ID, attached mails
never taken apart, sizes within a limit (pure functions, no servers)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from gateway.mail.attachments import Attachment, extract, safe_name, size_words, within


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("fix.patch", "fix.patch"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\sam\\Desktop\\screen shot.png", "screen shot.png"),
        (".bashrc", "bashrc"),
        ("a\x00b\r\nc.txt", "a_b__c.txt"),
        ('what?<now>|"x".log', "what__now___x_.log"),
        ("", "attachment-3"),
        ("../", "attachment-3"),
        ("x" * 300 + ".tar.gz", "x" * 117 + ".gz"),
    ],
)
def test_a_file_name_is_only_ever_a_name(name: str, safe: str) -> None:
    assert safe_name(name, 3) == safe
    assert "/" not in safe_name(name) and "\\" not in safe_name(name)


def _se_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "sam@example.com"
    msg.set_content("Hello Jane, the patch is attached.")
    msg.add_alternative('<p>Hello Jane, see <img src="cid:shot1@sam"></p>', subtype="html")
    html = msg.get_payload()[1]
    html.add_related(b"\x89PNG-bytes", "image", "png", cid="<shot1@sam>")
    msg.add_attachment(b"--- a\n+++ b\n", "text", "x-diff", filename="../fix.patch")
    original = EmailMessage()
    original["From"] = "jane@acme.example"
    original.set_content("the customer's mail, as our SE copy attached it")
    original.add_attachment(b"secret", "application", "octet-stream", filename="log.zip")
    msg.add_attachment(original)
    return msg.as_bytes()


def test_files_and_inline_images_but_never_an_attached_mail() -> None:
    files = extract(_se_mail())
    assert [(f.filename, f.content_type, f.content_id) for f in files] == [
        ("attachment-1", "image/png", "shot1@sam"),
        ("fix.patch", "text/x-diff", ""),
    ]
    assert files[0].data == b"\x89PNG-bytes" and files[0].inline
    assert files[1].data == b"--- a\n+++ b\n" and not files[1].inline


def test_a_mail_with_only_text_has_no_files() -> None:
    msg = EmailMessage()
    msg.set_content("Just words.")
    msg.add_alternative("<p>Just words.</p>", subtype="html")
    assert extract(msg.as_bytes()) == []
    assert extract(b"\xff\xfe not a mail") == []


def test_files_within_a_limit_keep_their_order() -> None:
    files = [
        Attachment(f"f{n}", "application/octet-stream", b"x" * size)
        for n, size in enumerate([400, 700, 300])
    ]
    kept, over = within(files, 1000)
    assert [f.filename for f in kept] == ["f0", "f2"] and [f.filename for f in over] == ["f1"]
    assert (size_words(812), size_words(14 * 1024), size_words(3_355_443)) == (
        "812 bytes",
        "14 KB",
        "3.2 MB",
    )
