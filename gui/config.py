"""What the GUI service needs to run, resolved from the settings tree by the CLI."""

from dataclasses import dataclass
from pathlib import Path

from db.errors import ConfigError

API_PREFIX = "/api/v1"
IMPORT_SENSOR_NAME = "import"


@dataclass(frozen=True, slots=True)
class GuiConfig:
    api_url: str
    """The API's base address (``http://api:8000``), without ``/api/v1``."""
    secret_key: str
    session_lifetime_s: int = 8 * 3600
    api_timeout_s: float = 15.0
    import_max_bytes: int = 1 << 30
    upload_dir: Path | None = None
    page_size: int = 100

    def __post_init__(self) -> None:
        if not self.api_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"gui.api_url must be an http:// or https:// address, got {self.api_url!r}"
            )
        if len(self.secret_key) < 32:
            raise ConfigError("gui.secret_key must be at least 32 characters")

    @property
    def api_base(self) -> str:
        return self.api_url.rstrip("/") + API_PREFIX
