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
    # random heads with a fixed seed, scaled so that scores vary between sentences and words
    with torch.no_grad():
        torch.manual_seed(seed + 1)
        model.event_head.weight.normal_(0.0, 0.5)
        model.event_head.bias.fill_(-1.5)
        model.ner_head.weight.normal_(0.0, 0.5)
        model.ner_head.bias.zero_()
        model.ner_head.bias[settings.bio_tags.index("O")] = 1.5
    return model.eval()
