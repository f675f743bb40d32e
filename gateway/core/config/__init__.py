"""The configuration schema: every key, its default and its meaning, in one place (the sections
in base.py, servers.py, policy.py and team.py, the whole in schema.py, files and teams in
files.py, the reference in reference.py). Import from here.

The example in ``deploy/support-gateway.toml`` is checked against this schema by the test suite
(every key here must appear there), and ``support-gateway check-config`` reports every problem
with the dotted key it belongs to.
"""

from __future__ import annotations

from gateway.core.config.base import (
    WEEKDAYS,
    ConfigError,
    Secret,
    Section,
    TlsMode,
    check_address,
    check_language,
    tls_context,
)
from gateway.core.config.files import (
    load_config,
    load_teams,
    merged,
    parse_teams,
)
from gateway.core.config.policy import (
    CapacitySection,
    HoursSection,
    Priority,
    PriorityTargets,
    ReportsSection,
    RetentionSection,
    RetrySection,
    SafetySection,
    SchedulerSection,
    ScTargets,
    SlaSection,
    TierTargets,
    parse_days,
    parse_window,
)
from gateway.core.config.reference import (
    reference_table,
    schema_fields,
    schema_keys,
    toml_value,
)
from gateway.core.config.schema import (
    Config,
    parse_config,
)
from gateway.core.config.servers import (
    DatabaseSection,
    ImapSection,
    IngressSection,
    LogSection,
    MetricsSection,
    SmtpSection,
    WebSection,
)
from gateway.core.config.team import (
    Account,
    Article,
    Person,
    Product,
    RelaySection,
    RequestKind,
    RotaSection,
    RoutingSection,
    SupportSection,
)

__all__ = [
    "WEEKDAYS",
    "Account",
    "Article",
    "CapacitySection",
    "Config",
    "ConfigError",
    "DatabaseSection",
    "HoursSection",
    "ImapSection",
    "IngressSection",
    "LogSection",
    "MetricsSection",
    "Person",
    "Priority",
    "PriorityTargets",
    "Product",
    "RelaySection",
    "ReportsSection",
    "RequestKind",
    "RetentionSection",
    "RetrySection",
    "RotaSection",
    "RoutingSection",
    "SafetySection",
    "ScTargets",
    "SchedulerSection",
    "Secret",
    "Section",
    "SlaSection",
    "SmtpSection",
    "SupportSection",
    "TierTargets",
    "TlsMode",
    "WebSection",
    "check_address",
    "check_language",
    "load_config",
    "load_teams",
    "merged",
    "parse_config",
    "parse_days",
    "parse_teams",
    "parse_window",
    "reference_table",
    "schema_fields",
    "schema_keys",
    "tls_context",
    "toml_value",
]
