"""What the API service needs to run, resolved from the settings tree by the CLI."""

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

IMPORT_SENSOR_NAME = "import"


def analyze_command() -> tuple[str, ...]:
    """How to run ``callsift analyze`` in a child process (the API never imports the sensor)."""
    exe = Path(sys.executable).with_name("callsift")
    if exe.exists():
        return (str(exe),)
    found = shutil.which("callsift")
    return (found,) if found else (sys.executable, "-m", "sniffer.cli.main")


@dataclass(frozen=True, slots=True)
class ApiConfig:
    db_url: str
    secret_key: str
    spool_dir: Path | None = None
    """Where the per-call pcaps are (read), and imported captures' pcaps go (written)."""
    token_lifetime_s: int = 3600
    metrics_public: bool = True
    """``/metrics`` without a token (scrapers); False: it needs one like every other path."""
    page_limit_max: int = 1000
    login_window_s: int = 900
    login_max_failures_user: int = 5
    login_max_failures_ip: int = 20
    stale_after_s: float = 60.0
    """A sensor whose last heartbeat is older than this is shown as stale."""
    share_max_days: int = 30
    import_max_bytes: int = 1 << 30
    import_concurrency: int = 1
    import_timeout_s: float = 900.0
    import_sensor_id: int = 65535
    import_dir: Path | None = None
    """Where uploads wait for their analysis (default: ``<spool>/.imports``)."""
    analyze_cmd: tuple[str, ...] = field(default_factory=analyze_command)
    pool_size: int = 10
    stats_refresh_s: float = 30.0
    """Period of the hourly statistics refresh (the newest figures are computed live)."""

    @property
    def uploads_dir(self) -> Path | None:
        if self.import_dir is not None:
            return self.import_dir
        return None if self.spool_dir is None else self.spool_dir / ".imports"
