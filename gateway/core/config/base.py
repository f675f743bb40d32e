"""What every section of the config shares: the section model (unknown keys refused), secrets
(a file, an environment variable or a command, read when needed), addresses, languages, TLS."""

from __future__ import annotations

import functools
import os
import re
import ssl
import subprocess
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic import model_validator as _model_validator

from gateway.text.speech import known

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` holds (dotted key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {msg}" for key, msg in problems))


@functools.cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """The client TLS context, built once per process (loading the CA store costs milliseconds)."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class TlsMode(StrEnum):
    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


def check_address(value: str) -> str:
    value = value.strip()
    if not _ADDRESS.match(value):
        raise ValueError(f"not an email address: {value!r}")
    return value.lower()


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Secret(Section):
    """Where a secret comes from: a file (e.g. under $CREDENTIALS_DIRECTORY), an environment
    variable, or (OAuth2 tokens only) a command that prints it. Never the config itself."""

    file: str = Field(
        "", description="Path of a file holding the secret (trailing newline ignored)."
    )
    env: str = Field("", description="Name of an environment variable holding the secret.")
    command: str = Field(
        "", description="Command whose standard output is the secret (for OAuth2 tokens)."
    )

    @property
    def configured(self) -> bool:
        return bool(self.file or self.env or self.command)

    def problem(self) -> str | None:
        """Why the secret cannot be read here and now (None: it can, or it is a command, which
        is run only when needed)."""
        if self.file:
            expanded = os.path.expandvars(self.file)
            unset = _VARIABLE.search(expanded)  # expandvars leaves an unset one as written
            if unset:
                name = unset.group(1) or unset.group(2)
                if name == "CREDENTIALS_DIRECTORY":
                    return (
                        f"CREDENTIALS_DIRECTORY is not set in {self.file!r}: systemd sets it"
                        " for the unit (LoadCredential=); outside systemd, point file at the"
                        " secret's own path, or export CREDENTIALS_DIRECTORY"
                        " (/etc/support-gateway/credentials with the example unit)"
                    )
                return f"${name} in {self.file!r} is not set"
            path = Path(expanded)
            if not path.is_file():
                return f"no file {path}"
            if not os.access(path, os.R_OK):
                return f"{path} is not readable by this user (uid {os.getuid()})"
        if self.env and self.env not in os.environ:
            return f"environment variable {self.env} is not set"
        return None

    def read(self) -> SecretStr:
        """Read the secret now (tokens expire, so callers read it at each login)."""
        if self.file:
            missing = self.problem()
            if missing:
                raise FileNotFoundError(missing)
            path = Path(os.path.expandvars(self.file))
            return SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n"))
        if self.env:
            if self.env not in os.environ:
                raise KeyError(f"environment variable {self.env} is not set")
            return SecretStr(os.environ[self.env])
        if self.command:
            out = subprocess.run(
                self.command, shell=True, check=True, capture_output=True, text=True, timeout=30
            )
            return SecretStr(out.stdout.strip())
        return SecretStr("")

    @_model_validator(mode="after")
    def _one_source(self) -> Secret:
        if sum(bool(x) for x in (self.file, self.env, self.command)) > 1:
            raise ValueError("give only one of file, env, command")
        return self


def check_language(v: str) -> str:
    v = v.strip().replace("-", "_")
    if not known(v):
        raise ValueError(f"{v!r} is not a language code Babel knows (e.g. en, de, es, pt_BR)")
    return v
