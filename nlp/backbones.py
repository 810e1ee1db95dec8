"""The encoder families the joint model runs on (BERT-style, and Gemma 3 with bidirectional attention) and
the parts of each that the model, the ONNX export and training address.

Gemma 3 (EmbeddingGemma) gets its attention masks built here from plain tensor operations: every token
sees every non-padding token (within the sliding window on sliding layers), so the encoder reads both
directions, and the graph traces to ONNX (transformers' own mask builders do not).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

GEMMA3_TYPES = ("gemma3_text",)


def is_gemma3(config: Any) -> bool:
    """True for a Gemma 3 text encoder config."""
    return getattr(config, "model_type", None) in GEMMA3_TYPES


def check_bidirectional(config: Any) -> None:
    """ValueError for a Gemma 3 config without bidirectional attention (a causal decoder, not an encoder)."""
    if is_gemma3(config) and not getattr(config, "use_bidirectional_attention", False):
        raise ValueError(
            "this Gemma 3 config has use_bidirectional_attention off: the joint model needs an encoder "
            "(EmbeddingGemma's config sets it; see python -m training.convert_embeddinggemma)"
        )


def gemma3_masks(config: Any, attention_mask: torch.Tensor, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Bidirectional masks (batch, 1, length, length) for each Gemma 3 layer type: boolean (True = attend)
    for sdpa, additive `dtype` (0 or the dtype's minimum) for eager attention, as transformers builds them."""
    length = attention_mask.shape[1]
    keys = attention_mask.bool()[:, None, None, :]
    positions = torch.arange(length, device=attention_mask.device)
    # transformers stores half the configured window (+1) for bidirectional models: |q - k| < sliding_window
    near = (positions[:, None] - positions[None, :]).abs() < int(config.sliding_window)
    masks = {"full_attention": keys.expand(-1, 1, length, -1), "sliding_attention": keys & near[None, None]}
    if getattr(config, "_attn_implementation", None) == "eager":
        low = torch.finfo(dtype).min
        masks = {name: torch.zeros((), dtype=dtype, device=mask.device).masked_fill(~mask, low) for name, mask in masks.items()}
    return masks


def encoder_states(encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Last-layer hidden states (batch, length, hidden) of any supported encoder."""
    if is_gemma3(encoder.config):
        check_bidirectional(encoder.config)
        dtype = encoder.get_input_embeddings().weight.dtype
        masks = gemma3_masks(encoder.config, attention_mask, dtype)
        return encoder(input_ids=input_ids, attention_mask=masks, use_cache=False).last_hidden_state
    return encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def encoder_layers(encoder: nn.Module) -> nn.ModuleList:
    """The encoder's transformer layers, in order."""
    if is_gemma3(encoder.config):
        return encoder.layers
    return encoder.encoder.layer


def feed_forward_output(layer: nn.Module) -> nn.Linear:
    """The linear layer that closes a transformer layer's feed-forward block."""
    mlp = getattr(layer, "mlp", None)
    return mlp.down_proj if mlp is not None else layer.output.dense


def frozen_prefixes(encoder: nn.Module, count: int) -> tuple[str, ...]:
    """Parameter-name prefixes of the embeddings and the first `count` layers."""
    if is_gemma3(encoder.config):
        return ("embed_tokens.",) + tuple(f"layers.{i}." for i in range(count))
    return ("embeddings.",) + tuple(f"encoder.layer.{i}." for i in range(count))
