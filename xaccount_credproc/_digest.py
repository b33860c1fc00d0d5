"""A short, stable digest for cache and lock names.

BLAKE2b from the interpreter's builtin module: `import hashlib` loads OpenSSL, several
milliseconds on every `aws` command.
"""

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b


def digest(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
