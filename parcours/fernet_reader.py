"""Fernet tokens read without building a cipher per value (issue 17, docs/decisions/0012).

A list of 50 persons decrypts ~460 field values; `MultiFernet.decrypt` costs ~16 µs each, most
of it building an AES-CBC cipher context for the one value: 7 ms of a persons page's 8 ms of
CPU. This reader follows the Fernet specification
(https://github.com/fernet/spec/blob/master/Spec.md) with the same primitives: it checks the
version byte and the token's shape, verifies the HMAC-SHA256 of version, timestamp, IV and
ciphertext under each key in turn (`hmac.compare_digest`: constant time) before touching the
ciphertext, then decrypts AES-128-CBC as CBC is defined — each block through AES (one ECB
context per key and thread, kept) XOR the block before it (the IV for the first) — and strips
the PKCS7 padding. Without a time-to-live, as `fields.decrypt` always asked, the timestamp is
not read.

Only decryption: every token is still made by `cryptography`'s Fernet (`fields.encrypt`), and
tests/test_fernet_reader.py holds this reader to `MultiFernet.decrypt` — the same plaintext for
every token, `InvalidToken` for every token it refuses (a byte changed anywhere, truncated,
another key, another version, not base64).
"""

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Sequence

from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

_VERSION = 0x80
_HEADER = 1 + 8  # version, timestamp
_IV = 16
_MAC = 32
_BLOCK = 16
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


class FernetReader:
    """Decrypts the Fernet tokens of any of `keys` (url-safe base64, as Fernet takes them)."""

    def __init__(self, keys: Sequence[str]):
        self._keys: list[tuple[bytes, bytes]] = []
        for key in keys:
            raw = base64.urlsafe_b64decode(key)
            if len(raw) != 32:
                raise ValueError("A Fernet key is 32 url-safe base64-encoded bytes.")
            self._keys.append((raw[:16], raw[16:]))  # signing key, encryption key
        # Each signing key's HMAC-SHA256 with its key already absorbed: a value's MAC starts
        # from a copy (~0.4 µs less than keying a new HMAC for every value).
        self._signers = [hmac.new(signing, digestmod=hashlib.sha256) for signing, _ in self._keys]
        # An OpenSSL context is not shared between threads: one per thread and key.
        self._local = threading.local()

    def _block_decryptor(self, index: int) -> CipherContext:
        contexts = getattr(self._local, "contexts", None)
        if contexts is None:
            contexts = self._local.contexts = {}
        context = contexts.get(index)
        if context is None:
            encryption_key = self._keys[index][1]
            # Block by block: the CBC chaining is done in `decrypt` (S305: not ECB encryption).
            block = modes.ECB()  # noqa: S305
            context = Cipher(algorithms.AES(encryption_key), block).decryptor()
            contexts[index] = context
        return context

    def _signing_key_of(self, signed: bytes, signature: bytes) -> int:
        """The index of the key whose HMAC-SHA256 of `signed` is `signature`."""
        for index, signer in enumerate(self._signers):
            mac = signer.copy()
            mac.update(signed)
            if hmac.compare_digest(mac.digest(), signature):
                return index
        raise InvalidToken

    def decrypt(self, token: bytes) -> bytes:
        try:
            # `base64.urlsafe_b64decode`'s own steps, without its checks of the argument's type.
            data = binascii.a2b_base64(token.translate(_FROM_URLSAFE))
        except (TypeError, AttributeError, binascii.Error):  # not bytes, not base64
            raise InvalidToken from None
        # Version, timestamp, IV, at least one block of ciphertext (PKCS7 always pads), HMAC.
        size = len(data) - _HEADER - _IV - _MAC
        if not data or data[0] != _VERSION or size < _BLOCK or size % _BLOCK:
            raise InvalidToken
        signed, signature = data[:-_MAC], data[-_MAC:]
        index = self._signing_key_of(signed, signature)
        ciphertext = signed[_HEADER + _IV :]
        decrypted = self._block_decryptor(index).update(ciphertext)
        # CBC: each plaintext block is its decrypted block XOR the ciphertext block before it,
        # the IV before the first: data[9 : 9 + len(ciphertext)] is IV + ciphertext[:-16].
        chained = signed[_HEADER : _HEADER + len(ciphertext)]
        padded = (int.from_bytes(decrypted, "big") ^ int.from_bytes(chained, "big")).to_bytes(
            len(ciphertext), "big"
        )
        pad = padded[-1]
        if not 1 <= pad <= _BLOCK or padded[-pad:] != bytes([pad]) * pad:
            raise InvalidToken
        return padded[:-pad]
