"""A BERT encoder for inference written directly on torch, loading the weights of transformers' BertModel.

Loading a saved model through it skips importing transformers' modelling stack (about 2 s of a cold
start on CPU); training and export keep using transformers' BertModel, and tests check both agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F

_ACTIVATIONS = {
    "gelu": F.gelu,
    "relu": F.relu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


@dataclass
class EncoderConfig:
    """The fields of a BERT `config.json` this encoder needs; `raw` keeps the whole file for saving."""

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    layer_norm_eps: float
    max_position_embeddings: int
    type_vocab_size: int
    raw: dict[str, Any]

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "EncoderConfig | None":
        """The config when it describes a plain BERT encoder this module runs exactly, else None."""
        if not is_plain_bert(raw):
            return None
        return cls(
            vocab_size=int(raw["vocab_size"]),
            hidden_size=int(raw["hidden_size"]),
            num_hidden_layers=int(raw["num_hidden_layers"]),
            num_attention_heads=int(raw["num_attention_heads"]),
            intermediate_size=int(raw["intermediate_size"]),
            hidden_act=str(raw.get("hidden_act", "gelu")),
            layer_norm_eps=float(raw.get("layer_norm_eps", 1e-12)),
            max_position_embeddings=int(raw.get("max_position_embeddings", 512)),
            type_vocab_size=int(raw.get("type_vocab_size", 2)),
            raw=dict(raw),
        )

    def save_pretrained(self, directory: str | Path) -> None:
        """Write the original `config.json` back (same interface as a transformers config)."""
        path = Path(directory) / "config.json"
        path.write_text(json.dumps(self.raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def is_plain_bert(raw: Mapping[str, Any]) -> bool:
    """True for an fp32 encoder-only BERT config with absolute positions and an activation this module
    knows; anything else (including malformed values) is left to transformers, which reports errors."""

    def positive_int(key: str, default: int | None = None) -> bool:
        value = raw.get(key, default)
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    required = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    eps = raw.get("layer_norm_eps", 1e-12)
    return (
        raw.get("model_type") == "bert"
        and all(positive_int(key) for key in required)
        and positive_int("max_position_embeddings", 512)
        and positive_int("type_vocab_size", 2)
        and raw["hidden_size"] % raw["num_attention_heads"] == 0
        and isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 0
        and raw.get("hidden_act", "gelu") in _ACTIVATIONS
        and raw.get("position_embedding_type", "absolute") == "absolute"
        # transformers builds the encoder in the config's dtype; this module runs fp32 only
        and all(raw.get(key) in (None, "float32") for key in ("dtype", "torch_dtype"))
        and not raw.get("is_decoder", False)
        and not raw.get("add_cross_attention", False)
        and not raw.get("chunk_size_feed_forward", 0)
    )


@dataclass
class EncoderOutput:
    last_hidden_state: torch.Tensor


class _Embeddings(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        # every token is of type 0 and positions count from 0, as BertModel does without explicit ids;
        # the same order of additions as BertModel, so results agree to the last bit on CPU
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        return self.LayerNorm(embeddings + self.position_embeddings.weight[:length])


class _Dense(nn.Module):
    """A linear layer followed by residual add and LayerNorm (BERT's `*Output` blocks)."""

    def __init__(self, d_in: int, d_out: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=eps)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(hidden) + residual)


class _SelfAttention(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = hidden.shape
        shape = (batch, length, self.heads, width // self.heads)
        q, k, v = (proj(hidden).view(shape).transpose(1, 2) for proj in (self.query, self.key, self.value))
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return context.transpose(1, 2).reshape(batch, length, width)


class _Attention(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.self = _SelfAttention(config)
        self.output = _Dense(config.hidden_size, config.hidden_size, config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(hidden, mask), hidden)


class _Intermediate(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = _ACTIVATIONS[config.hidden_act]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden))


class _Layer(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.attention = _Attention(config)
        self.intermediate = _Intermediate(config)
        self.output = _Dense(config.intermediate_size, config.hidden_size, config.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.attention(hidden, mask)
        return self.output(self.intermediate(hidden), hidden)


class _Stack(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(config) for _ in range(config.num_hidden_layers))


class BertEncoder(nn.Module):
    """BERT without pooler, for inference: same parameter names as transformers' BertModel."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Stack(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> EncoderOutput:
        """Hidden states of the last layer; `attention_mask` is 1 for tokens and 0 for padding."""
        hidden = self.embeddings(input_ids)
        # (batch, 1, 1, length) boolean: every query attends to the real tokens of its sequence
        mask = attention_mask.bool()[:, None, None, :]
        for layer in self.encoder.layer:
            hidden = layer(hidden, mask)
        return EncoderOutput(last_hidden_state=hidden)
