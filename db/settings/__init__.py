"""The one settings tree of callsift, read the same way by every command and service.

Sources, highest priority first: command-line flags, ``CALLSIFT_*`` environment variables, the
TOML file given with ``--config`` (or ``$CALLSIFT_CONFIG``), then the defaults below. The file
has one ``[section]`` table per section; every key also has one flat, unique environment name
(``storage.db_url`` is ``CALLSIFT_DB_URL``), declared next to it. docs/CONFIG.md is generated
from this module (``make config-doc``) and a test keeps it current.

Bad configuration raises :class:`~db.errors.ConfigError` with one line per problem, naming the
key and its environment variable. Importable without the sensor: the API and the GUI read it too.
"""

from db.settings.base import MAX_CALLS, MAX_REGISTRATIONS, SIP_TCP_PORTS, SpoolMode, setting
from db.settings.diagnosis import DiagnosisSettings
from db.settings.sections import (
    SECTIONS,
    AnalysisSettings,
    CaptureSettings,
    DecoderSettings,
    MetricsSettings,
    SensorSettings,
    SpoolSettings,
    StorageSettings,
)
from db.settings.tree import (
    ENV_KEYS,
    FlatEnvSource,
    Settings,
    describe,
    env_name,
    fields,
    flag_help,
    load_settings,
)
from db.settings.web import ApiSettings, GuiSettings

__all__ = [
    "ENV_KEYS",
    "MAX_CALLS",
    "MAX_REGISTRATIONS",
    "SECTIONS",
    "SIP_TCP_PORTS",
    "AnalysisSettings",
    "ApiSettings",
    "CaptureSettings",
    "DecoderSettings",
    "DiagnosisSettings",
    "FlatEnvSource",
    "GuiSettings",
    "MetricsSettings",
    "SensorSettings",
    "Settings",
    "SpoolMode",
    "SpoolSettings",
    "StorageSettings",
    "describe",
    "env_name",
    "fields",
    "flag_help",
    "load_settings",
    "setting",
]
