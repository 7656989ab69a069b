"""The ``api`` and ``gui`` sections (the web services)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, field_validator

from db.settings.base import Section, secret_key_of, setting


class ApiSettings(Section):
    """The REST API service."""

    host: str = setting("127.0.0.1", env="CALLSIFT_API_HOST", doc="Address the API listens on.")
    port: int = setting(8080, env="CALLSIFT_API_PORT", ge=1, le=65535, doc="API port.")
    secret_key: SecretStr | None = setting(
        None, env="CALLSIFT_SECRET_KEY",
        doc="Key signing the API's tokens (required when the API runs; at least 32 "
        "characters; never logged).",
    )  # fmt: skip
    token_lifetime_s: int = setting(
        3600, env="CALLSIFT_API_TOKEN_LIFETIME_S", ge=60,
        doc="Lifetime of an API access token, seconds.",
    )  # fmt: skip
    metrics_public: bool = setting(
        True, env="CALLSIFT_API_METRICS_PUBLIC",
        doc="`/api/v1/metrics` answers without a token (for scrapers); false: it needs one.",
    )  # fmt: skip
    login_window_s: int = setting(
        900, env="CALLSIFT_API_LOGIN_WINDOW_S", ge=10,
        doc="Failed logins are counted over this many seconds (and a throttled login waits it).",
    )  # fmt: skip
    login_max_failures_user: int = setting(
        5, env="CALLSIFT_API_LOGIN_MAX_FAILURES_USER", ge=1,
        doc="Failed logins of one user name within the window before logins answer 429.",
    )  # fmt: skip
    login_max_failures_ip: int = setting(
        20, env="CALLSIFT_API_LOGIN_MAX_FAILURES_IP", ge=1,
        doc="Failed logins from one address within the window before logins answer 429.",
    )  # fmt: skip
    stale_after_s: float = setting(
        60.0, env="CALLSIFT_API_STALE_AFTER_S", gt=0,
        doc="A sensor whose last heartbeat is older than this is shown as stale.",
    )  # fmt: skip
    share_max_days: int = setting(
        30, env="CALLSIFT_API_SHARE_MAX_DAYS", ge=1, le=365,
        doc="Longest life of a share link, days.",
    )  # fmt: skip
    import_max_mb: int = setting(
        1024, env="CALLSIFT_API_IMPORT_MAX_MB", ge=1,
        doc="Largest capture an operator may upload for import, MiB.",
    )  # fmt: skip
    import_concurrency: int = setting(
        1, env="CALLSIFT_API_IMPORT_CONCURRENCY", ge=1, le=16,
        doc="Imported captures analysed at once (the others wait).",
    )  # fmt: skip
    import_timeout_s: float = setting(
        900.0, env="CALLSIFT_API_IMPORT_TIMEOUT_S", gt=0,
        doc="An import's analysis is stopped after this many seconds.",
    )  # fmt: skip
    import_sensor_id: int = setting(
        65535, env="CALLSIFT_API_IMPORT_SENSOR_ID", ge=1, le=65535,
        doc="Sensor id (named `import`) under which imported calls appear.",
    )  # fmt: skip
    trusted_proxies: str = setting(
        "127.0.0.1", env="CALLSIFT_API_TRUSTED_PROXIES", min_length=1,
        doc="Addresses (comma-separated, or `*`) whose `X-Forwarded-For`/`-Proto` the API "
        "believes: the GUI's, so that the login throttle and the audit log see each user's "
        "address rather than the GUI's. `*` only where nothing else reaches the API.",
    )  # fmt: skip

    @field_validator("secret_key")
    @classmethod
    def _key(cls, v: SecretStr | None) -> SecretStr | None:
        return secret_key_of(v)


class GuiSettings(Section):
    """The web GUI service."""

    host: str = setting("127.0.0.1", env="CALLSIFT_GUI_HOST", doc="Address the GUI listens on.")
    port: int = setting(8081, env="CALLSIFT_GUI_PORT", ge=1, le=65535, doc="GUI port.")
    api_url: str = setting(
        "http://127.0.0.1:8080", env="CALLSIFT_GUI_API_URL", doc="Where the GUI reaches the API."
    )
    secret_key: SecretStr | None = setting(
        None, env="CALLSIFT_GUI_SECRET_KEY",
        doc="Key signing the GUI's session cookies (required when the GUI runs, else "
        "`api.secret_key` (`CALLSIFT_SECRET_KEY`) is used; at least 32 characters; never logged).",
    )  # fmt: skip
    session_lifetime_s: int = setting(
        8 * 3600, env="CALLSIFT_GUI_SESSION_LIFETIME_S", ge=60,
        doc="A GUI session ends after this many seconds (or earlier, when the API's access "
        "token expires).",
    )  # fmt: skip
    api_timeout_s: float = setting(
        15.0, env="CALLSIFT_GUI_API_TIMEOUT_S", gt=0,
        doc="Limit of one API request made by the GUI (downloads: between two chunks).",
    )  # fmt: skip
    import_max_mb: int = setting(
        1024, env="CALLSIFT_GUI_IMPORT_MAX_MB", ge=1,
        doc="Largest capture the import page takes, MiB (the API's `api.import_max_mb` also "
        "applies).",
    )  # fmt: skip
    upload_dir: Path | None = setting(
        None, env="CALLSIFT_GUI_UPLOAD_DIR",
        doc="Where an uploaded capture waits while it is passed to the API (default: the "
        "system's temporary directory).",
    )  # fmt: skip

    @field_validator("secret_key")
    @classmethod
    def _key(cls, v: SecretStr | None) -> SecretStr | None:
        return secret_key_of(v)
