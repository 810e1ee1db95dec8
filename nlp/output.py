"""Where `predict` writes: an output checked before the model loads, written one whole document at a time,
and continued by `--resume`.

Resume matches input documents to the lines already written by id and occurrence: when an id is on
k lines of the output, its first k documents in the input are done. With the output written in input
order (as predict writes it), that is every input document exactly once, in input order, repeated
ids included.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Iterable


class OutputError(OSError):
    """An output that cannot be opened or written; the message names it and says what it holds."""


class DoneDocuments:
    """The documents an output already holds, as ids counted with their repeats."""

    def __init__(self, ids: Iterable[str] = ()):
        self._left = Counter(ids)
        self.total = sum(self._left.values())

    def take(self, doc_id: str) -> bool:
        """True when this input document is already in the output (each line matches one document)."""
        if self._left[doc_id] > 0:
            self._left[doc_id] -= 1
            return True
        return False

    @property
    def unmatched(self) -> int:
        """Lines of the output that no input document taken so far has matched."""
        return sum(self._left.values())


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true/false", type(None): "null"}


def read_output_ids(path: str | os.PathLike[str]) -> tuple[list[str], int]:
    """The ids on the complete lines of a JSON Lines output, in order, and the bytes those lines take.

    A last line without its newline (killed while writing) is not counted. Any other line that is not
    a JSON object with an 'id' raises ValueError naming the file and the line number.
    """
    ids: list[str] = []
    complete = 0
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    break  # a half-written last line: cut off when writing starts
                complete += len(raw)
                doc_id = _line_id(raw, f"{path}:{number}: ")
                if doc_id is not None:
                    ids.append(doc_id)
    except OSError as err:
        raise OutputError(f"cannot read {path} to resume it: {err.strerror or err}") from None
    return ids, complete


def _line_id(raw: bytes, where: str) -> str | None:
    """The id of one output line (None for a blank line); ValueError naming `where` for anything else."""
    hint = "--resume continues the JSON Lines written by predict: fix or delete that line, or start over without --resume"
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{where}not valid UTF-8 (byte {err.start}); {hint}") from None
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}invalid JSON: {err.msg} (column {err.colno}); {hint}") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}expected a JSON object with an 'id', got {_JSON_TYPES.get(type(record), 'a value')}; {hint}")
    if "id" not in record:
        raise ValueError(f"{where}the object has no 'id'; {hint}")
    doc_id = record["id"]
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
        raise ValueError(f"{where}'id' must be a string, got {_JSON_TYPES.get(type(doc_id), 'an object')}; {hint}")
    return str(doc_id)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise OutputError unless a file can be written at `path` (a file it creates for the check is removed)."""
    handle = _open_append(Path(path))
    handle.close()
    if handle.created:
        os.unlink(path)


class _Handle:
    def __init__(self, file: IO[bytes], created: bool):
        self.file, self.created = file, created

    def close(self) -> None:
        self.file.close()


def _open_append(path: Path) -> _Handle:
    """Open `path` for appending without truncating it; OutputError with a one-line reason otherwise."""
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {path.parent} does not exist")
    created = not os.path.lexists(path)
    try:
        file = open(path, "ab", buffering=0)
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from None
    return _Handle(file, created)


class Output:
    """The place predictions go: a file (opened at once, before any model loads) or standard output.

    Nothing in a file changes until `start()`: a fresh output is emptied there, a resumed one loses only
    a half-written last line. Each `write()` is one whole document, so after a write error or an
    interruption the file ends after the last complete document and `--resume` can continue it.
    """

    def __init__(self, path: str | os.PathLike[str] | None, resume: bool = False, resumable: bool = True):
        """`resume`: continue the file's complete lines (see `done`); `resumable`: a later --resume can
        continue this output (JSON Lines), said in write errors."""
        self.path = None if path is None else Path(path)
        self.written = 0  # documents written by this run
        self.done = DoneDocuments()
        self.resumable = resumable
        self._keep = 0  # bytes kept at start(): the complete lines of a resumed file
        self._size = 0  # bytes of whole documents in the file
        self._handle: _Handle | None = None
        self._regular = False
        if self.path is None:
            return
        if resume and self.path.is_file():
            ids, self._keep = read_output_ids(self.path)
            self.done = DoneDocuments(ids)
        self._handle = _open_append(self.path)
        self._regular = stat.S_ISREG(os.fstat(self._handle.file.fileno()).st_mode)
        self._size = self._keep

    @property
    def name(self) -> str:
        return "standard output" if self.path is None else str(self.path)

    def start(self) -> None:
        """Empty a fresh file, or cut a resumed one back to its complete lines."""
        if self._handle is not None and self._regular:
            try:
                self._handle.file.truncate(self._keep)
            except OSError as err:
                raise self._error(err) from None

    def write(self, text: str, document: bool = True) -> None:
        """Write one document's text (JSON line or CSV rows; `document=False` for a header) whole.

        Raises OutputError if it cannot be written, after cutting off what was written of it."""
        data = text.encode("utf-8")
        try:
            if self._handle is None:
                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                view = memoryview(data)
                while view:  # a raw file may take part of the bytes at a time
                    view = view[self._write_bytes(view) :]
        except BrokenPipeError:
            raise
        except OSError as err:
            self._cut()
            raise self._error(err) from None
        except BaseException:  # interrupted inside a write: keep only whole documents
            self._cut()
            raise
        self._size += len(data)
        self.written += int(document)

    def _write_bytes(self, data: memoryview) -> int:
        """One write to the file; the number of bytes it took."""
        return self._handle.file.write(data)

    def warn_unmatched(self) -> None:
        """After a resumed run: say on stderr when lines of the output matched no input document."""
        if self.done.unmatched:
            print(
                f"warning: {self.done.unmatched} line(s) of {self.name} match no input document of this run "
                "(kept as they are)", file=sys.stderr,
            )

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def discard(self) -> None:
        """Close without having written: a file this output created is removed, an existing one is left as it was."""
        self.close()
        if self._handle is not None and self._handle.created and self.written == 0:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __enter__(self) -> "Output":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _cut(self) -> None:
        """Cut a partly written document off the end of the file (best effort: resume repairs it too)."""
        if self._handle is not None and self._regular:
            try:
                self._handle.file.truncate(self._size)
            except OSError:
                pass

    def _error(self, err: OSError) -> OutputError:
        reason = err.strerror or str(err)
        written = f"after {self.written} document(s) were written"
        if self.path is None:
            return OutputError(f"cannot write to standard output: {reason} {written}")
        if self.done.total:
            written += f" ({self.done.total + self.written} in the file with those already there)"
        then = "then run again with --resume to continue" if self.resumable else "then run again"
        return OutputError(
            f"cannot write {self.path}: {reason} {written}; the file ends after the last whole document: "
            f"free space or fix the cause, {then}"
        )
