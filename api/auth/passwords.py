"""Password hashing (argon2id, argon2-cffi's defaults) and the strength rule for new
passwords."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
_hasher = PasswordHasher()
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password12",
        "password123",
        "passw0rd",
        "p@ssw0rd",
        "123456789",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "qwerty123",
        "qwertyuiop1",
        "iloveyou",
        "admin",
        "administrator",
        "admin12345",
        "admin123456",
        "changeme",
        "changeme123",
        "letmein123",
        "welcome123",
        "callsift",
        "callsift123",
        "voip123456",
        "asterisk",
        "asterisk123",
        "freeswitch",
        "1q2w3e4r5t",
        "abc1234567",
        "0987654321",
    }
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


DUMMY_HASH = hash_password("not a password: equalises the time of unknown-user logins")


def verify_password(stored_hash: str, password: str) -> tuple[bool, bool]:
    """(matches, needs a rehash with the current parameters)."""
    try:
        _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, _hasher.check_needs_rehash(stored_hash)


def weakness(password: str, username: str = "") -> str | None:
    """Why a new password is refused (one line), or None when it is acceptable."""
    if not password:
        return "the password is empty"
    if len(password) < MIN_LENGTH:
        return f"the password is too short: at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password is too long: at most {MAX_LENGTH} characters"
    if password.strip() != password:
        return "the password starts or ends with white space"
    low = password.lower()
    if low in _COMMON or len(set(low)) < 4:
        return "the password is too easy to guess"
    if username and username.lower() in low:
        return "the password contains the user name"
    return None
