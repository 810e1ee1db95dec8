"""Tiny randomly initialized joint models, built offline, for tests and for the placeholder default model.

Their predictions are meaningless; they exercise the real code paths (tokenizer, encoder,
save/load through `from_pretrained`) without any download.
"""

from __future__ import annotations

from typing import Iterable

import torch

from .model import JointModel, ModelSettings
from .preprocess import NormalizationConfig, normalize, split_words

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_tokenizer(texts: Iterable[str], vocab_size: int = 2000, normalization: NormalizationConfig | None = None):
    """A small WordPiece tokenizer for `texts`, deterministic: every character (alone and as a
    ``##`` continuation) plus the most frequent whole words, ties broken alphabetically."""
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalization = normalization or NormalizationConfig()
    words: Counter[str] = Counter()
    for text in texts:
        norm = normalize(text, normalization).text
        words.update(norm[a:b] for a, b in split_words(norm))
    chars = sorted({ch for word in words for ch in word})
    vocab_list = list(SPECIAL_TOKENS) + chars + [f"##{ch}" for ch in chars]
    budget = max(0, vocab_size - len(vocab_list))
    vocab_list += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1][:budget]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(vocab_list))}
    tokenizer = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, lowercase=False, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
    )


def build_tiny_model(
    texts: Iterable[str],
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    max_length: int = 128,
    window_stride: int = 32,
    vocab_size: int = 2000,
) -> JointModel:
    """A small BERT joint model with random weights and a tokenizer trained on `texts`."""
    from transformers import BertConfig, BertModel

    texts = list(texts)
    tokenizer = build_tokenizer(texts, vocab_size=vocab_size)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=hidden_size * 4,
        max_position_embeddings=max(max_length, 64),
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    encoder = BertModel(config, add_pooling_layer=False)
    settings = ModelSettings(max_length=max_length, window_stride=window_stride, encoder="tiny-random-bert")
    model = JointModel(encoder, tokenizer, settings)
    return _random_heads(model, seed)


def _random_heads(model: JointModel, seed: int) -> JointModel:
    """Random heads with a fixed seed, scaled so that scores vary between sentences and words."""
    with torch.no_grad():
        torch.manual_seed(seed + 1)
        model.event_head.weight.normal_(0.0, 0.5)
        model.event_head.bias.fill_(-1.5)
        model.ner_head.weight.normal_(0.0, 0.5)
        model.ner_head.bias.zero_()
        model.ner_head.bias[model.settings.bio_tags.index("O")] = 1.5
    return model.eval()


GEMMA_SPECIAL_TOKENS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")


def build_gemma_tokenizer(texts: Iterable[str], vocab_size: int = 600):
    """A small BPE tokenizer built like Gemma's: spaces become "▁" in a normalizer (no pre-tokenizer
    splitting), byte fallback, <pad> <eos> <bos> <unk> <mask> at ids 0-4, then the 256 byte pieces."""
    import json

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [" ".join(normalize(t).text[a:b] for a, b in split_words(normalize(t).text)) for t in texts]
    bpe = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    bpe.normalizer = normalizers.Replace(" ", "▁")
    # trained on "▁"-led words, so no piece spans two words (as in Gemma's vocabulary); used on whole text
    bpe.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(GEMMA_SPECIAL_TOKENS), show_progress=False)
    bpe.train_from_iterator(texts, trainer=trainer)
    spec = json.loads(bpe.to_str())
    learned = sorted(spec["model"]["vocab"].items(), key=lambda item: item[1])
    pieces = list(GEMMA_SPECIAL_TOKENS) + [f"<0x{b:02X}>" for b in range(256)]
    pieces += [p for p, _ in learned if p not in pieces]
    spec["model"]["vocab"] = {p: i for i, p in enumerate(pieces)}
    spec["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False}
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", pair="<bos> $A <eos> <bos> $B <eos>", special_tokens=[("<bos>", 2), ("<eos>", 1)]
    )
    names = ("pad_token", "eos_token", "bos_token", "unk_token", "mask_token")
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **dict(zip(names, GEMMA_SPECIAL_TOKENS)))


def tiny_gemma_config(vocab_size: int, hidden_size: int = 32, num_layers: int = 3, sliding_window: int = 8, max_positions: int = 256):
    """A small Gemma 3 text config with bidirectional attention (EmbeddingGemma's layout: sliding layers, then a full one)."""
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers, num_attention_heads=2, num_key_value_heads=1, head_dim=hidden_size // 2,
        max_position_embeddings=max_positions, sliding_window=sliding_window, query_pre_attn_scalar=hidden_size // 2,
        layer_types=["sliding_attention"] * (num_layers - 1) + ["full_attention"],
        use_bidirectional_attention=True, pad_token_id=0, eos_token_id=1, bos_token_id=2,
    )


def build_tiny_gemma_model(
    texts: Iterable[str], seed: int = 0, hidden_size: int = 32, num_layers: int = 3, sliding_window: int = 8,
    max_length: int = 64, window_stride: int = 16, vocab_size: int = 600,
) -> JointModel:
    """A small Gemma 3 (bidirectional) joint model with random weights and a Gemma-style tokenizer trained on `texts`."""
    from transformers import Gemma3TextModel

    tokenizer = build_gemma_tokenizer(list(texts), vocab_size=vocab_size)
    torch.manual_seed(seed)
    config = tiny_gemma_config(len(tokenizer), hidden_size, num_layers, sliding_window, max(max_length, 64))
    encoder = Gemma3TextModel(config).eval()
    settings = ModelSettings(max_length=max_length, window_stride=window_stride, encoder="tiny-random-gemma3")
    return _random_heads(JointModel(encoder, tokenizer, settings), seed)
