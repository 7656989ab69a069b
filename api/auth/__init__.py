"""Authentication: password hashing, signed access tokens, machine and share tokens."""
