"""Who is calling: a logged-in user or a machine token, with a role and a sensor scope."""

from dataclasses import dataclass

from db.queries.apiauth import ROLES


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str
    """``user`` or ``token``."""
    name: str
    """User name, or ``token:<name>``."""
    role: str
    sensor_scope: tuple[int, ...] | None
    """Sensors this principal may see; None: all."""
    user_id: int | None = None
    token_id: int | None = None
    jti: bytes | None = None
    expires_at: float | None = None

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role) if self.role in ROLES else False

    def sees(self, sensor_id: int) -> bool:
        return self.sensor_scope is None or sensor_id in self.sensor_scope
