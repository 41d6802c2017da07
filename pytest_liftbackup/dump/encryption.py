"""Backups encrypted at rest in the age format (https://age-encryption.org), readable by the `age` tool.

The work is pyrage's (bindings to rage, a well-kept age implementation), streaming both ways; never
crypto of our own. Recipients are age public keys (`age1...`), or files of them (one per line, as
`age -R` reads); identities are files of secret keys (`AGE-SECRET-KEY-1...`, as `age -i` reads).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from pytest_liftbackup._errors import DumpInputError, LiftbackupError
from pytest_liftbackup._leftovers import claimed_folder
from pytest_liftbackup.dump import files as _files

SUFFIX = ".age"
_MAGIC = b"age-encryption.org/v1\n"
_INSTALL = "pip install 'pytest-liftbackup[age]'"


def _pyrage() -> Any:
    try:
        import pyrage
    except ImportError:
        raise LiftbackupError(f"age encryption needs pyrage, which is not installed: {_INSTALL}") from None
    return pyrage


def is_encrypted(path: Path) -> bool:
    """An age file, by its first line (its name may say nothing)."""
    try:
        with _files.open_entry(path) as stream:
            return stream.read(len(_MAGIC)) == _MAGIC
    except (OSError, DumpInputError):
        return False


def recipients(given: list[str]) -> list[Any]:
    """age public keys, each given as the key itself or as a file of keys."""
    pyrage = _pyrage()
    keys: list[str] = []
    for item in given:
        path = Path(item).expanduser()
        if not item.startswith("age1") and path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            keys += [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        else:
            keys.append(item.strip())
    found = []
    for key in keys:
        try:
            found.append(pyrage.x25519.Recipient.from_str(key))
        except Exception:  # pyrage raises its own RecipientError or ValueError by version
            raise LiftbackupError(
                f"{key[:12]}...: not an age recipient; give a public key (age1...) or a file of them, "
                "as `age-keygen -y KEYFILE` prints"
            ) from None
    if not found:
        raise LiftbackupError("no age recipient given: pass a public key (age1...) or a file of them")
    return found


def identities(path: Path) -> list[Any]:
    """The secret keys in an identity file (as `age-keygen -o` writes)."""
    pyrage = _pyrage()
    try:
        lines = path.expanduser().read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LiftbackupError(f"{path}: cannot read the identity file ({exc.strerror})") from None
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    try:
        found = [pyrage.x25519.Identity.from_str(key) for key in keys]
    except Exception:
        raise LiftbackupError(f"{path}: holds a line that is not an age secret key") from None
    if not found:
        raise LiftbackupError(f"{path}: no age secret key (AGE-SECRET-KEY-1...) in this file")
    return found


def public_keys(identity: Path) -> list[str]:
    """The public keys (age1...) of the secret keys in an identity file: whoever holds it can read
    what is encrypted to them."""
    return [str(key.to_public()) for key in identities(identity)]


def seal(data: bytes, to: list[Any]) -> bytes:
    """`data` as an age file encrypted to every recipient in `to`."""
    return bytes(_pyrage().encrypt(data, to))


def unseal(data: bytes, identity: Path, what: Path) -> bytes:
    """What `seal` encrypted, read with the keys of `identity`; `what` names it in the error."""
    pyrage = _pyrage()
    try:
        return bytes(pyrage.decrypt(data, identities(identity)))
    except pyrage.DecryptError as exc:
        raise DumpInputError(
            f"{what}: cannot decrypt its sealed part ({exc}); pass the identity of the backup's recipient"
        ) from None


def encrypt(source: IO[bytes], sink: Any, to: list[Any]) -> None:
    """Stream `source` into `sink`, encrypted to every recipient in `to`."""
    _pyrage().encrypt_io(source, sink, to)


def decrypt(path: Path, sink: IO[bytes], keys: list[Any]) -> None:
    """Stream the age file at `path` into `sink`; a wrong key or a damaged file is a clear error."""
    pyrage = _pyrage()
    with _files.open_entry(path) as source:
        try:
            pyrage.decrypt_io(source, sink, keys)
        except pyrage.DecryptError as exc:
            raise DumpInputError(
                f"{path}: cannot decrypt this backup ({exc}); is it encrypted to this identity? "
                "Pass the identity file whose public key it was encrypted to"
            ) from None


@contextmanager
def decrypted(paths: list[Path], identity: Path | None) -> Iterator[dict[Path, Path]]:
    """The age-encrypted files among `paths`, decrypted into a private folder that is removed on
    exit: {decrypted copy: encrypted original}. Without an identity nothing is decrypted (and reading
    an encrypted file says to pass one)."""
    encrypted = [p for p in paths if p.is_file() and is_encrypted(p)]
    if identity is None or not encrypted:
        yield {}
        return
    keys = identities(identity)
    claim = claimed_folder("decrypted-")
    folder = claim.folder
    try:
        copies: dict[Path, Path] = {}
        for number, path in enumerate(encrypted):
            name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.name
            (folder / str(number)).mkdir()
            copy = folder / str(number) / name
            with open(copy, "xb") as sink:
                decrypt(path, sink, keys)
            copies[copy] = path
        yield copies
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        claim.release()
