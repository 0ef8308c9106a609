"""Health-note contents are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from settings, newest first. Encryption always uses the first key;
decryption tries each, so adding a new key at the front and re-encrypting with
`goalpath rotate-health-note-key` rotates without losing old notes (docs/operations.md).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from starlette.requests import HTTPConnection

from goalpath.config import Settings


class HealthNoteCipher:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one health-note key is required")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthNoteCipher:
        return cls(settings.health_note_key_list())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError) as error:
            raise ValueError("health note cannot be decrypted with the configured keys") from error

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def note_cipher(request: HTTPConnection) -> HealthNoteCipher:
    """The app's cipher (for the API's endpoints and the pages alike), built on first
    use: the keys are parsed once, and an app made with other settings (another key
    list) gets its own."""
    state = request.app.state
    cipher: HealthNoteCipher | None = getattr(state, "health_note_cipher", None)
    if cipher is None:
        cipher = HealthNoteCipher.from_settings(state.settings)
        state.health_note_cipher = cipher
    return cipher
