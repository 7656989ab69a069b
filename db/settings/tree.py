"""The whole tree, its sources (flags > ``CALLSIFT_*`` environment > TOML file > defaults) and
the one-line :class:`~db.errors.ConfigError` of a bad configuration."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from db.errors import ConfigError
from db.settings.base import CONFIG_ENV, ENV_PREFIX, OTHER_ENV
from db.settings.diagnosis import DiagnosisSettings
from db.settings.mirror import HepSettings, MirrorSettings
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
from db.settings.web import ApiSettings, GuiSettings

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """The whole tree. ``Settings()`` reads the environment; :func:`load_settings` adds the
    TOML file and the flags and turns validation errors into one :class:`ConfigError`."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    config_file: Path | None = Field(
        None, exclude=True, description="Where the file layer came from."
    )
    sensor: SensorSettings = Field(default_factory=SensorSettings)
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    decoder: DecoderSettings = Field(default_factory=DecoderSettings)
    diagnosis: DiagnosisSettings = Field(default_factory=DiagnosisSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    gui: GuiSettings = Field(default_factory=GuiSettings)
    mirror: MirrorSettings = Field(default_factory=MirrorSettings)
    hep: HepSettings = Field(default_factory=HepSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, FlatEnvSource(settings_cls)]
        path = getattr(init_settings, "init_kwargs", {}).get("config_file")
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)

    def require(self, key: str) -> Any:
        """The value at ``key`` (``"api.secret_key"``); :class:`ConfigError` naming the key and
        its environment variable when it is not set."""
        section, name = key.split(".")
        value = getattr(getattr(self, section), name)
        if value is None or value == "":
            raise ConfigError(f"{key} is required (set {env_name(key)} or [{section}] {name})")
        return value


def fields() -> Iterator[tuple[str, FieldInfo]]:
    """``("section.key", field)`` of every setting, in declaration order."""
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            yield f"{section}.{name}", info


def env_name(key: str) -> str:
    """``"storage.db_url"`` -> ``"CALLSIFT_DB_URL"``."""
    section, name = key.split(".")
    extra = SECTIONS[section].model_fields[name].json_schema_extra
    assert isinstance(extra, dict)
    return str(extra["env"])


def flag_help(key: str, text: str) -> str:
    """``--help`` text of a flag that sets ``key``: ``text``, the default and the variable."""
    section, name = key.split(".")
    default = SECTIONS[section].model_fields[name].get_default(call_default_factory=True)
    if isinstance(default, bool):
        shown = "true" if default else "false"
    elif isinstance(default, list):
        shown = ",".join(str(v) for v in default) or "none"
    elif isinstance(default, StrEnum):
        shown = default.value
    else:
        shown = "none" if default is None or default == "" else str(default)
    return f"{text} (default: {shown}; env {env_name(key)})".replace("%", "%%")


ENV_KEYS: dict[str, str] = {env_name(key): key for key, _ in fields()}
"""Environment name -> ``section.key`` (names are unique: checked by the test suite)."""


class FlatEnvSource(PydanticBaseSettingsSource):
    """The ``CALLSIFT_*`` environment, each variable to its section key (empty means unset)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None):
        super().__init__(settings_cls)
        self.environ = os.environ if environ is None else environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole tree is read in __call__

    def __call__(self) -> dict[str, Any]:
        out: dict[str, dict[str, str]] = {}
        for env, key in ENV_KEYS.items():
            value = self.environ.get(env, "").strip()
            if value:
                section, name = key.split(".")
                out.setdefault(section, {})[name] = value
        unknown = sorted(k for k in self.environ if k.startswith(ENV_PREFIX) and k not in ENV_KEYS)
        for name in unknown:
            if name not in OTHER_ENV:
                log.warning("unknown environment variable %s ignored (docs/CONFIG.md)", name)
        return out


def load_settings(
    config_file: str | Path | None = None, flags: Mapping[str, Any] | None = None
) -> Settings:
    """Flags (``{"section.key": value}``, None values ignored) > environment > TOML file
    (``config_file``, else ``$CALLSIFT_CONFIG``) > defaults. :class:`ConfigError` names every
    bad key, its environment variable and the problem."""
    if config_file is None:
        config_file = os.environ.get(CONFIG_ENV, "").strip() or None
    path = None if config_file is None else Path(config_file)
    if path is not None and not path.is_file():
        raise ConfigError(f"config file {path}: no such file")
    nested: dict[str, dict[str, Any]] = {}
    for key, value in (flags or {}).items():
        if value is not None:
            section, name = key.split(".")
            nested.setdefault(section, {})[name] = value
    try:
        return Settings(config_file=path, **cast(dict[str, Any], nested))
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from exc
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError(f"config file {path}: {_one_line(str(exc))}") from exc


def describe(exc: ValidationError) -> str:
    """One line naming each bad key, its environment variable and the problem."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            problems.append(_unknown(loc))
            continue
        if len(loc) >= 2 and loc[0] in SECTIONS:
            key = f"{loc[0]}.{loc[1]}"
            item = f"[{loc[2]}]" if len(loc) > 2 else ""
            problems.append(f"{key}{item} ({env_name(key)}): {msg}")
        else:
            problems.append(f"{'.'.join(loc) or 'settings'}: {msg}")
    return "; ".join(problems)


def _unknown(loc: list[str]) -> str:
    if len(loc) == 1:
        env = ENV_PREFIX + loc[0].upper()
        if env in ENV_KEYS:
            section, name = ENV_KEYS[env].split(".")
            return f"unknown setting '{loc[0]}' (settings go in tables: [{section}] {name})"
        return f"unknown setting '{loc[0]}' (sections: {', '.join(SECTIONS)})"
    return f"unknown setting '{loc[-1]}' in [{loc[0]}]"


def _one_line(text: str) -> str:
    return " ".join(text.split())
