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
    """Train a small WordPiece tokenizer on `texts` (normalized as the model will see them)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    normalization = normalization or NormalizationConfig()
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, lowercase=False, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=1, special_tokens=list(SPECIAL_TOKENS))
    corpus = []
    for text in texts:
        norm = normalize(text, normalization).text
        corpus.append(" ".join(norm[a:b] for a, b in split_words(norm)))
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
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
