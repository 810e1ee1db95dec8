"""The joint model: one shared transformer encoder with a sentence event head and a token NER head.

A saved model is a self-contained directory (our settings, the encoder config, safetensors
weights, the tokenizer) that loads with no network and no pickle.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from .backbones import check_bidirectional, encoder_states
from .quantize import SCHEME as QUANT_SCHEME
from .quantize import dequantize_state, quantize_state
from .labels import BIO_TAGS, EVENT_TYPES
from .preprocess import NormalizationConfig

FORMAT_VERSION = 1
SETTINGS_FILE = "nlp_config.json"
WEIGHTS_FILE = "model.safetensors"
LEXICON_FILE = "lexicon.yaml"  # trigger lexicon for `lexicon_types` (optional)
ENCODER_CONFIG_FILE = "config.json"
#: Licence notices an encoder's directory may hold (EmbeddingGemma's Gemma Terms of Use): every model derived
#: from that encoder, its exports and quantized copies carry them
NOTICE_FILES = ("NOTICE",)
TOKENIZER_FILE = "tokenizer.json"
POOLING_CHOICES = ("mean", "cls")


@dataclass
class ModelSettings:
    """Everything besides weights that a saved joint model needs to reproduce its predictions."""

    event_types: list[str] = field(default_factory=lambda: list(EVENT_TYPES))
    bio_tags: list[str] = field(default_factory=lambda: list(BIO_TAGS))
    thresholds: list[float] = field(default_factory=lambda: [0.5] * len(EVENT_TYPES))
    normalization: dict[str, bool] = field(default_factory=lambda: NormalizationConfig().to_dict())
    max_length: int = 256
    window_stride: int = 64
    pooling: str = "mean"
    dropout: float = 0.1
    encoder: str = ""
    lexicon_types: list[str] = field(default_factory=list)  # types also predicted when the stored trigger lexicon fires
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if len(self.thresholds) != len(self.event_types):
            raise ValueError(
                f"{len(self.thresholds)} thresholds given for {len(self.event_types)} event types"
            )
        if self.pooling not in POOLING_CHOICES:
            raise ValueError(f"pooling must be one of {POOLING_CHOICES}, got {self.pooling!r}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {self.max_length}")
        if not 0 <= self.window_stride < self.max_length - 2:
            raise ValueError("window_stride must be >= 0 and smaller than max_length - 2")
        NormalizationConfig.from_dict(self.normalization)
        unknown = sorted(set(self.lexicon_types) - set(self.event_types))
        if unknown:
            raise ValueError(f"lexicon_types {unknown} are not among the model's event types")

    @property
    def thresholds_by_type(self) -> dict[str, float]:
        """The decision threshold of each event type."""
        return dict(zip(self.event_types, self.thresholds))

    @property
    def normalization_config(self) -> NormalizationConfig:
        return NormalizationConfig.from_dict(self.normalization)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = "settings") -> "ModelSettings":
        values = dict(values)
        version = values.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{source}: model format version {version} is not supported by this package "
                f"(it reads version {FORMAT_VERSION}); upgrade the package or re-export the model"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {unknown}")
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{source}: {err}") from err


@dataclass
class JointOutput:
    """Logits of one forward pass, and the summed loss when labels were given."""

    event_logits: torch.Tensor  # (batch, n_event_types)
    ner_logits: torch.Tensor  # (batch, seq_len, n_tags)
    loss: torch.Tensor | None = None
    event_loss: torch.Tensor | None = None
    ner_loss: torch.Tensor | None = None

    def probabilities(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Event probabilities (sigmoid) and NER log-probabilities (log-softmax), in fp32."""
        return torch.sigmoid(self.event_logits.float()), torch.log_softmax(self.ner_logits.float(), dim=-1)


def frame_token_ids(tokenizer: Any) -> tuple[int, int]:
    """The ids that open and close a sequence: CLS/SEP, or BOS/EOS for tokenizers without them."""
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if cls_id is None or sep_id is None:
        raise ValueError("the tokenizer defines no CLS/BOS and SEP/EOS tokens to frame a sentence")
    return int(cls_id), int(sep_id)


def private_backend(tokenizer: Any) -> Any:
    """An independent copy of a fast tokenizer's Rust backend (or of a `tokenizers.Tokenizer`), without
    truncation or padding: calling the transformers tokenizer with truncation or padding changes its
    shared backend's settings."""
    from tokenizers import Tokenizer

    source = tokenizer if isinstance(tokenizer, Tokenizer) else tokenizer.backend_tokenizer
    backend = Tokenizer.from_str(source.to_str())
    backend.no_truncation()
    backend.no_padding()
    return backend


@dataclass(frozen=True)
class TokenFrame:
    """What inference needs of a tokenizer: a private Rust backend (no truncation or padding) and the
    ids that open, close and pad a sequence."""

    backend: Any
    cls_id: int
    sep_id: int
    pad_id: int


def token_frame(tokenizer: Any) -> TokenFrame:
    """The TokenFrame of a loaded transformers fast tokenizer."""
    cls_id, sep_id = frame_token_ids(tokenizer)
    pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
    return TokenFrame(private_backend(tokenizer), cls_id, sep_id, pad_id)


#: tokenizer classes whose saved tokenizer.json transformers 5 uses as is (other classes rebuild the backend)
_PLAIN_TOKENIZER_CLASSES = ("TokenizersBackend", "PreTrainedTokenizerFast")
_SPECIAL_TOKEN_KEYS = ("cls_token", "sep_token", "pad_token", "bos_token", "eos_token", "unk_token", "mask_token")


def read_token_frame(directory: str | os.PathLike[str]) -> TokenFrame | None:
    """The TokenFrame of a saved tokenizer read with the `tokenizers` library alone (no transformers import,
    a faster start). None unless transformers would use the same backend and ids unchanged: a plain
    fast-tokenizer class, no special_tokens_map.json, every named special token an added token."""
    from tokenizers import Tokenizer

    directory = Path(directory)
    path, config_path = directory / "tokenizer.json", directory / "tokenizer_config.json"
    if not path.is_file() or not config_path.is_file() or (directory / "special_tokens_map.json").exists():
        return None
    try:
        named = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_path} is not valid JSON: {err}") from err
    if not isinstance(named, dict) or named.get("tokenizer_class") not in _PLAIN_TOKENIZER_CLASSES:
        return None
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as err:  # the Rust library raises its own exception type
        raise ValueError(f"{path} could not be loaded as a tokenizer: {err}") from err
    backend.no_truncation()
    backend.no_padding()
    added = {token.content: index for index, token in backend.get_added_tokens_decoder().items()}
    ids: dict[str, int] = {}
    for key in _SPECIAL_TOKEN_KEYS:
        token = named.get(key)
        if isinstance(token, dict):  # an AddedToken written out in full
            token = token.get("content")
        if token is None:
            continue
        if not isinstance(token, str) or token not in added:
            return None  # transformers would add or reinterpret it
        ids[key] = int(added[token])
    cls_id = ids.get("cls_token", ids.get("bos_token"))
    sep_id = ids.get("sep_token", ids.get("eos_token"))
    if cls_id is None or sep_id is None:
        return None
    return TokenFrame(backend, cls_id, sep_id, ids.get("pad_token", 0))


def copy_notices(source: str | os.PathLike[str] | None, target: str | os.PathLike[str]) -> list[str]:
    """Copy the licence notices (NOTICE_FILES) of directory `source` into `target`; returns the names copied."""
    import shutil

    if source is None or not Path(source).is_dir():
        return []
    copied = []
    for name in NOTICE_FILES:
        if (Path(source) / name).is_file():
            shutil.copyfile(Path(source) / name, Path(target) / name)
            copied.append(name)
    return copied


def read_settings(directory: str | os.PathLike[str]) -> ModelSettings:
    """The ModelSettings stored in a model directory, with errors that name the file."""
    settings_path = Path(directory) / SETTINGS_FILE
    if not settings_path.is_file():
        raise FileNotFoundError(f"{settings_path} is missing: not a model directory written by this package")
    try:
        raw_settings = json.loads(settings_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{settings_path} is not valid JSON: {err}") from err
    if not isinstance(raw_settings, dict):
        raise ValueError(f"{settings_path} must hold a JSON object")
    return ModelSettings.from_dict(raw_settings, source=str(settings_path))


def read_lexicon(directory: str | os.PathLike[str], settings: ModelSettings) -> str | None:
    """The trigger lexicon (YAML text) stored in a model directory; required when `lexicon_types` is set."""
    path = Path(directory) / LEXICON_FILE
    if not path.is_file():
        if settings.lexicon_types:
            raise FileNotFoundError(f"{path} is missing: {SETTINGS_FILE} lists lexicon_types {settings.lexicon_types}")
        return None
    return path.read_text(encoding="utf-8")


def load_tokenizer(directory: str | os.PathLike[str]) -> Any:
    """The fast tokenizer saved in a model directory (local files only, no remote code)."""
    from transformers import AutoTokenizer

    path = Path(directory) / TOKENIZER_FILE
    if Path(directory).is_dir() and not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a model directory needs the fast tokenizer saved with it (see save_pretrained)")
    try:
        return AutoTokenizer.from_pretrained(
            str(directory), use_fast=True, local_files_only=True, trust_remote_code=False
        )
    except Exception as err:
        reason = " ".join(str(err).split())  # transformers' messages run over several lines
        raise ValueError(f"the tokenizer files in {directory} could not be loaded: {reason}") from err


def _skip_weight_init() -> Any:
    """A context in which transformers builds modules without random initialisation (faster loading)."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # older or newer transformers without it: initialise as usual
        return contextlib.nullcontext()
    return no_init_weights()


def _encoder_from_config(config: Any) -> nn.Module:
    from transformers import AutoModel

    try:
        return AutoModel.from_config(config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(config)


def _transformers_encoder(directory: Path) -> nn.Module:
    """The encoder described by a directory's config.json, built by transformers (weights not loaded)."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(str(directory), local_files_only=True, trust_remote_code=False)
    except Exception as err:  # transformers raises several types for bad configs
        raise ValueError(f"{directory / ENCODER_CONFIG_FILE} could not be read as an encoder config: {err}") from err
    try:
        with _skip_weight_init():  # every weight is overwritten from the file
            return _encoder_from_config(config)
    except (ValueError, TypeError, KeyError, AttributeError) as err:  # e.g. hidden_size not a multiple of the heads
        raise ValueError(f"{directory / ENCODER_CONFIG_FILE} does not describe an encoder that can be built: {err}") from err


def _light_encoder(directory: Path) -> nn.Module | None:
    """An `nlp.encoder.BertEncoder` for a plain BERT config.json, else None (transformers builds it)."""
    from .encoder import BertEncoder, EncoderConfig

    try:
        raw = json.loads((directory / ENCODER_CONFIG_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # transformers reports the error with its own message
    config = EncoderConfig.from_dict(raw) if isinstance(raw, dict) else None
    return None if config is None else BertEncoder(config)


class JointModel(nn.Module):
    """Shared encoder + multi-label sentence event head + BIO token NER head."""

    def __init__(self, encoder: nn.Module, tokenizer: Any, settings: ModelSettings | None = None):
        super().__init__()
        self.settings = settings or ModelSettings()
        if not isinstance(tokenizer, Path) and not getattr(tokenizer, "is_fast", False):
            raise TypeError(
                "the joint model needs a fast (Rust) tokenizer for word alignment; "
                "load it with AutoTokenizer.from_pretrained(..., use_fast=True)"
            )
        check_bidirectional(encoder.config)
        self.encoder = encoder
        # a directory (set by from_pretrained for inference) is loaded with transformers on first use
        self._tokenizer = tokenizer
        self._frame: TokenFrame | None = None  # read at loading for inference, without transformers
        self.lexicon_yaml: str | None = None  # trigger lexicon (YAML text) for settings.lexicon_types
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(self.settings.dropout)
        self.event_head = nn.Linear(hidden, len(self.settings.event_types))
        self.ner_head = nn.Linear(hidden, len(self.settings.bio_tags))

    @property
    def tokenizer(self) -> Any:
        """The transformers fast tokenizer; a model loaded for inference reads it from its directory on first
        use (saving or exporting such a model needs that directory to be still there)."""
        if isinstance(self._tokenizer, Path):
            self._tokenizer = load_tokenizer(self._tokenizer)
        return self._tokenizer

    @tokenizer.setter
    def tokenizer(self, tokenizer: Any) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("the joint model needs a fast (Rust) tokenizer for word alignment")
        self._tokenizer, self._frame = tokenizer, None

    def token_frame(self) -> TokenFrame:
        """Backend tokenizer and framing ids for inference (a fresh private backend on each call)."""
        if self._frame is not None:
            return replace(self._frame, backend=private_backend(self._frame.backend))
        return token_frame(self.tokenizer)

    # ---- construction -------------------------------------------------------------------

    @classmethod
    def from_encoder(
        cls, name_or_path: str, settings: ModelSettings | None = None, **hub_kwargs: Any
    ) -> "JointModel":
        """New joint model (fresh heads) on a pretrained encoder from the hub or a local path."""
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(name_or_path, use_fast=True, **hub_kwargs)
        try:
            encoder = AutoModel.from_pretrained(name_or_path, add_pooling_layer=False, **hub_kwargs)
        except TypeError:
            encoder = AutoModel.from_pretrained(name_or_path, **hub_kwargs)
        settings = settings or ModelSettings()
        settings.encoder = settings.encoder or str(name_or_path)
        limit = getattr(encoder.config, "max_position_embeddings", None)
        if limit and settings.max_length > limit:
            settings.max_length = int(limit)
        return cls(encoder, tokenizer, settings)

    @classmethod
    def from_pretrained(
        cls, directory: str | os.PathLike[str], device: str | torch.device = "cpu", for_inference: bool = False
    ) -> "JointModel":
        """Load a directory written by `save_pretrained` (local files only, weights from safetensors).

        `for_inference=True` runs a plain BERT encoder with `nlp.encoder` (same outputs, no dropout, no
        transformers import: a faster start) and loads the transformers tokenizer only when asked for.
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"model directory {str(directory)!r} does not exist or is not a directory")
        for name in (SETTINGS_FILE, ENCODER_CONFIG_FILE, WEIGHTS_FILE):
            if not (directory / name).is_file():
                raise FileNotFoundError(
                    f"{directory / name} is missing: a model directory needs {SETTINGS_FILE}, "
                    f"{ENCODER_CONFIG_FILE}, {WEIGHTS_FILE} and tokenizer files (see save_pretrained)"
                )
        settings = read_settings(directory)
        encoder = _light_encoder(directory) if for_inference else None
        frame = read_token_frame(directory) if encoder is not None else None
        # with a frame, inference needs no transformers tokenizer: loaded on first use of .tokenizer only
        tokenizer: Any = directory if frame is not None else load_tokenizer(directory)
        if encoder is None:
            encoder = _transformers_encoder(directory)
        model = cls(encoder, tokenizer, settings)
        model._frame = frame
        weights_path = directory / WEIGHTS_FILE
        try:
            state = load_file(str(weights_path))
        except Exception as err:  # safetensors raises its own error type for corrupt headers
            raise ValueError(f"{weights_path} is not a readable safetensors file (truncated or corrupted?): {err}") from err
        try:
            state = dequantize_state(state)
        except ValueError as err:
            raise ValueError(f"{weights_path}: {err}") from err
        model._load_weights(state, str(weights_path), directory)
        model.lexicon_yaml = read_lexicon(directory, settings)
        model.eval()
        return model.to(device)

    def _load_weights(self, state: dict[str, torch.Tensor], source: str, directory: Path | None = None) -> None:
        """Copy `state` in after checking its names and shapes; errors name the file whose sizes do not fit."""
        config = f"{directory / ENCODER_CONFIG_FILE}" if directory is not None else "the encoder config"
        settings = f"{directory / SETTINGS_FILE}" if directory is not None else "the model settings"
        hidden = getattr(self.encoder.config, "hidden_size", None)
        head = state.get("event_head.weight")
        if head is not None and head.dim() == 2 and hidden is not None and head.shape[1] != hidden:
            raise ValueError(
                f"{config}: hidden_size {hidden} does not fit {source}, whose weights have hidden size "
                f"{head.shape[1]}; keep the config.json saved with these weights"
            )
        expected = self.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"{source} does not match the model described by {config} and {settings}: "
                f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
            )
        for key, tensor in state.items():
            if tuple(tensor.shape) != tuple(expected[key].shape):
                described_by = config if key.startswith("encoder.") else f"{settings} (labels)"
                raise ValueError(
                    f"{source}: weight {key} has shape {tuple(tensor.shape)}, but {described_by} "
                    f"needs {tuple(expected[key].shape)}"
                )
        self.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})

    def save_pretrained(
        self, directory: str | os.PathLike[str], dtype: torch.dtype | None = None, quantize: str | None = None
    ) -> None:
        """Write settings, encoder config, tokenizer and safetensors weights (optionally cast, e.g. fp16).

        `quantize="int8"` stores the large matrices as int8 with a scale per row (`nlp.quantize`; a quarter
        of the fp32 size, other tensors in `dtype` or fp16); loading turns them back into floats.
        """
        from safetensors.torch import save_file

        if quantize not in (None, "int8"):
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        directory = Path(directory)
        self.save_settings(directory)
        self.encoder.config.save_pretrained(str(directory))
        self.tokenizer.save_pretrained(str(directory))
        metadata = {"format": "pt", "nlp_format_version": str(FORMAT_VERSION)}
        if quantize == "int8":
            state = quantize_state(self.state_dict(), float_dtype=dtype or torch.float16)
            metadata["nlp_weights"] = QUANT_SCHEME
        else:
            state = {
                key: (value.to(dtype) if dtype is not None and value.is_floating_point() else value)
                .detach()
                .cpu()
                .contiguous()
                for key, value in self.state_dict().items()
            }
        tmp = directory / (WEIGHTS_FILE + ".tmp")
        save_file(state, str(tmp), metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / WEIGHTS_FILE)

    def save_settings(self, directory: str | os.PathLike[str]) -> None:
        """Write only the label settings (thresholds, lexicon types) and the stored lexicon.

        Post-training steps that change no weight use it, so the weights file stays byte for byte.
        """
        directory = Path(directory)
        if self.settings.lexicon_types and self.lexicon_yaml is None:
            raise ValueError("settings.lexicon_types is set but the model holds no lexicon (set model.lexicon_yaml)")
        directory.mkdir(parents=True, exist_ok=True)
        (directory / SETTINGS_FILE).write_text(
            json.dumps(self.settings.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if self.lexicon_yaml is not None:
            (directory / LEXICON_FILE).write_text(self.lexicon_yaml, encoding="utf-8")
        elif (directory / LEXICON_FILE).is_file():
            (directory / LEXICON_FILE).unlink()

    # ---- thresholds ---------------------------------------------------------------------

    @property
    def thresholds(self) -> dict[str, float]:
        return self.settings.thresholds_by_type

    def set_thresholds(self, thresholds: Mapping[str, float]) -> None:
        """Replace per-type decision thresholds (e.g. tuned on a dev split); stored on save."""
        for name, value in thresholds.items():
            if name not in self.settings.event_types:
                raise ValueError(f"unknown event type {name!r} in thresholds")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"threshold for {name} must lie in [0, 1], got {value}")
        current = self.thresholds
        current.update({k: float(v) for k, v in thresholds.items()})
        self.settings.thresholds = [current[name] for name in self.settings.event_types]

    # ---- forward ------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        event_labels: torch.Tensor | None = None,
        ner_labels: torch.Tensor | None = None,
        event_weight: float = 1.0,
        ner_weight: float = 1.0,
        example_weights: torch.Tensor | None = None,
    ) -> JointOutput:
        """One encoder pass; event logits per sequence and NER logits per token.

        `event_labels` is multi-hot (batch, n_types) with -1 for types (or whole rows) without event
        supervision; `example_weights` (batch,) scales each row's event loss (e.g. down-weighted
        silver labels); `ner_labels` is (batch, seq_len) with -100 where no tag is supervised.
        """
        hidden = encoder_states(self.encoder, input_ids, attention_mask)
        if self.settings.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        event_logits = self.event_head(self.dropout(pooled))
        ner_logits = self.ner_head(self.dropout(hidden))
        output = JointOutput(event_logits=event_logits, ner_logits=ner_logits)
        losses = []
        if event_labels is not None:
            supervised = (event_labels >= 0).float()  # -1 marks a type (or a whole row) without supervision
            if example_weights is not None:
                supervised = supervised * example_weights.float().unsqueeze(-1)
            if supervised.sum() > 0:
                per_entry = nn.functional.binary_cross_entropy_with_logits(
                    event_logits.float(), event_labels.clamp(min=0).float(), reduction="none"
                )
                output.event_loss = (per_entry * supervised).sum() / supervised.sum()
                losses.append(event_weight * output.event_loss)
        if ner_labels is not None and (ner_labels != -100).any():
            output.ner_loss = nn.functional.cross_entropy(
                ner_logits.float().reshape(-1, ner_logits.shape[-1]), ner_labels.reshape(-1), ignore_index=-100
            )
            losses.append(ner_weight * output.ner_loss)
        if losses:
            output.loss = torch.stack(losses).sum()
        return output
