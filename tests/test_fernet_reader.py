"""`FernetReader` answers what `MultiFernet.decrypt` answers (parcours/fernet_reader.py): the
same plaintext for every token of any of the keys, `InvalidToken` for every token Fernet
refuses — a byte changed anywhere, a token cut short or lengthened, another key, another
version, text that is not base64."""

import base64
import threading

import pytest
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from hypothesis import given, settings
from hypothesis import strategies as st

from parcours import fields
from parcours.fernet_reader import FernetReader

KEYS = [Fernet.generate_key().decode() for _ in range(3)]  # newest first, as in the settings
LIBRARY = MultiFernet([Fernet(k) for k in KEYS])
READER = FernetReader(KEYS)


def _refused_by_both(token: bytes) -> None:
    with pytest.raises(InvalidToken):
        LIBRARY.decrypt(token)
    with pytest.raises(InvalidToken):
        READER.decrypt(token)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(KEYS))
def test_every_token_of_every_key_reads_as_fernet_reads_it(plaintext, key):
    token = Fernet(key).encrypt(plaintext)
    assert READER.decrypt(token) == LIBRARY.decrypt(token) == plaintext


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120))
def test_the_fields_round_trip_any_text(text):
    assert fields.decrypt(fields.encrypt(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_a_byte_changed_anywhere_is_refused(plaintext, data):
    raw = bytearray(base64.urlsafe_b64decode(LIBRARY.encrypt(plaintext)))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    _refused_by_both(base64.urlsafe_b64encode(bytes(raw)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.data())
def test_a_token_cut_short_or_lengthened_is_refused(plaintext, data):
    raw = base64.urlsafe_b64decode(LIBRARY.encrypt(plaintext))
    cut = data.draw(st.integers(0, len(raw) - 1))
    _refused_by_both(base64.urlsafe_b64encode(raw[:cut]))
    extra = data.draw(st.binary(min_size=1, max_size=48))
    _refused_by_both(base64.urlsafe_b64encode(raw + extra))


def test_a_token_of_another_key_or_version_or_not_base64_is_refused():
    _refused_by_both(Fernet(Fernet.generate_key()).encrypt(b"Lea Martin"))
    raw = bytearray(base64.urlsafe_b64decode(LIBRARY.encrypt(b"Lea Martin")))
    raw[0] = 0x81  # another version (the signature no longer matches either)
    _refused_by_both(base64.urlsafe_b64encode(bytes(raw)))
    _refused_by_both(b"pas du base64 !")
    _refused_by_both(b"")


def test_a_well_signed_token_with_bad_padding_is_refused():
    """A token signed with the key but whose plaintext's padding is wrong (only someone holding
    the key can make one): refused, as Fernet refuses it."""
    key = base64.urlsafe_b64decode(KEYS[0])
    signing, encryption = key[:16], key[16:]
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = bytes(range(16))
    encryptor = Cipher(algorithms.AES(encryption), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(b"sixteen bytes!!\x00") + encryptor.finalize()  # pad byte 0
    signed = b"\x80" + bytes(8) + iv + ciphertext
    mac = hmac.HMAC(signing, hashes.SHA256())
    mac.update(signed)
    _refused_by_both(base64.urlsafe_b64encode(signed + mac.finalize()))


def test_threads_read_at_once_each_with_its_own_cipher():
    tokens = [(LIBRARY.encrypt(f"valeur {n}".encode()), f"valeur {n}".encode()) for n in range(50)]
    reader = FernetReader(KEYS)
    wrong: list[bytes] = []

    def read():
        for _ in range(40):
            for token, plaintext in tokens:
                if reader.decrypt(token) != plaintext:
                    wrong.append(token)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_key_that_is_not_a_fernet_key_is_refused_at_once():
    with pytest.raises(ValueError, match="32"):
        FernetReader([base64.urlsafe_b64encode(b"trop court").decode()])
