"""An ``assign`` output folder used as a key: which student's key file grades which submission."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import limits
from ..errors import BackproofError, quote
from .answers import AnswerFileError

__all__ = ["KeyFolder", "key_folder", "KEYS_FOLDER", "STUDENT_ID"]

#: Folder of an ``assign`` output that holds one key per student (``keys/<id>.yaml``).
KEYS_FOLDER = "keys"
#: A student id: it becomes a file name, so letters, digits, ``. _ -`` only, not starting with a dot.
STUDENT_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class KeyFolder:
    """The key files of an ``assign`` folder, by student id (plain data: it crosses to workers)."""

    path: str
    keys: Mapping[str, str]

    @property
    def first(self) -> str:
        """The first key file (by id): its questions and tolerances are everyone's."""
        return self.keys[min(self.keys)]

    def key_path(self, student: str | None, stem: str) -> str:
        """The key file of the student a submission names: its ``student`` field when that is
        a roster id, else its file name (``<id>.yaml``).

        Raises
        ------
        BackproofError
            When neither names a student of the folder.
        """
        for sid in (student, stem):
            if sid is not None and sid in self.keys:
                return self.keys[sid]
        raise BackproofError(f"no variant for student {quote(student or stem)} in {self.path}/{KEYS_FOLDER} "
                             f"(name the file <id>.yaml or write student: <id>, with the id from the roster)")


def key_folder(path: str | Path) -> KeyFolder | None:
    """The :class:`KeyFolder` of ``path`` when it is a folder (None for a key file).

    Examples
    --------
    >>> key_folder("key.yaml") is None
    True
    """
    folder = Path(path)
    if not folder.is_dir():
        return None
    keys = folder / KEYS_FOLDER
    if not keys.is_dir():
        raise AnswerFileError([f"{folder}: a folder given as the key must be an 'assign' output folder "
                               f"(with {KEYS_FOLDER}/<id>.yaml)"])
    paths = sorted(p for p in keys.iterdir() if p.suffix == ".yaml" and STUDENT_ID.fullmatch(p.stem))
    limits.check("roster_students", len(paths), str(keys))
    if not paths:
        raise AnswerFileError([f"{keys}: no keys (<id>.yaml) in the assign folder"])
    return KeyFolder(str(folder), {p.stem: str(p) for p in paths})
