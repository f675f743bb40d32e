"""A real Dovecot on loopback, started by the test suite (see ../shared/dovecot-notes.md)."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

import imapclient

from gateway.core.clock import Clock

USER = "support"
PASSWORD = "test-password-not-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
# IDLE announces mail that arrived just before IDLE began only at this check (default 30 s).
mailbox_idle_check_interval = 1 secs
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
# OAuth2 bearer tokens, checked by the test suite's introspection endpoint (see Introspection).
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {base}/oauth2.conf.ext
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


OAUTH2_CONF = """\
introspection_mode = post
introspection_url = http://127.0.0.1:{port}/introspect
username_attribute = username
active_attribute = active
active_value = true
"""


class Introspection:
    """An OAuth2 token-introspection endpoint (RFC 7662) on loopback, as an identity provider
    serves it to Dovecot: ``tokens`` maps each valid token to its user; every token asked about
    is recorded in ``asked``."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.asked: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                outer.asked.append(token)
                user = outer.tokens.get(token)
                body = json.dumps(
                    {"active": "true", "username": user} if user else {"active": "false"}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Dovecot:
    """One private Dovecot instance under ``base`` (a fresh directory)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.conf = base / "dovecot.conf"
        self.clock: Clock | None = None
        self.oauth2 = Introspection()

    def start(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            raise RuntimeError(
                "Dovecot is not installed: apt-get install -y dovecot-imapd (.ci/run does this)"
            )
        base = self.base
        for d in ("run", "state", "mail"):
            (base / d).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("dovecot")
            uid, gid = user.pw_uid, user.pw_gid
            login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
            os.chown(base / "mail", uid, gid)
            for p in (base, base / "run", base / "state"):
                p.chmod(0o755)
        else:
            uid, gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(uid).pw_name
            login_user = internal_user = me
            internal_group = me
        (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        (base / "oauth2.conf.ext").write_text(OAUTH2_CONF.format(port=self.oauth2.port))
        self.conf.write_text(
            CONF.format(
                base=base,
                port=self.port,
                uid=uid,
                gid=gid,
                login_user=login_user,
                internal_user=internal_user,
                internal_group=internal_group,
            )
        )
        subprocess.run([binary, "-c", str(self.conf)], check=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not listen on {self.port}; see {base}/dovecot.log")

    def stop(self) -> None:
        """Stop the server and every process it started: Dovecot leaves IDLE clients' imap
        processes running after ``doveadm stop``, which would not be an outage at all."""
        pid_file = self.base / "run" / "master.pid"
        sid = None
        if pid_file.exists():
            with contextlib.suppress(OSError, ValueError):
                sid = os.getsid(int(pid_file.read_text().split()[0]))
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run([doveadm, "-c", str(self.conf), "stop"], check=False, capture_output=True)
        if sid is None:
            return
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getsid(int(proc.name)) == sid and int(proc.name) != os.getpid():
                        os.kill(int(proc.name), signal.SIGKILL)

    def restart(self) -> None:
        """Stop and start again on the same port and mail store (an outage)."""
        self.kick_and_stop()
        self.start()

    def kick_and_stop(self) -> None:
        """Stop, telling connected clients BYE as a server shutting down does; return once
        the port is closed."""
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run([doveadm, "-c", str(self.conf), "kick", "*"], capture_output=True)
        self.stop()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                time.sleep(0.05)
            except OSError:
                break

    def client(self) -> imapclient.IMAPClient:
        c = imapclient.IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        c.login(USER, PASSWORD)
        return c

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """APPEND with INTERNALDATE from the test's clock (the gateway's received time)."""
        when = self.clock.now() if self.clock is not None else None
        with self.client() as c:
            c.append(folder, raw, msg_time=when)

    def count(self, folder: str) -> int:
        with self.client() as c:
            if not c.folder_exists(folder):
                return 0
            return int(c.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])

    def reset(self) -> None:
        """Empty every folder (between tests sharing one server)."""
        with self.client() as c:
            for _flags, _delim, name in c.list_folders():
                if name == "INBOX":
                    c.select_folder("INBOX")
                    uids = c.search(["ALL"])
                    if uids:
                        c.delete_messages(uids)
                        c.expunge()
                else:
                    c.delete_folder(name)
