"""An optional sentence-embedding backend (off by default).

Build and CI machines cannot download model weights, so the default ranking is TF-IDF plus the
structured fields; an encoder only adds a capped bonus (types.EMBEDDING_BONUS_CAP). A deployment
that has a multilingual model on disk (LaBSE covers kk and ru; all-MiniLM-L6-v2 is English-only)
can turn it on with a spec string, e.g. from a setting:

    load_encoder("sentence-transformers:/srv/models/LaBSE")
    load_encoder("myproject.encoders:HashingEncoder")   # any class with encode(texts)
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TextEncoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


class SentenceTransformerEncoder:
    def __init__(self, path: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ValueError(
                f"the encoder {path!r} needs the sentence-transformers package, which is not installed"
            ) from exc
        self.model = SentenceTransformer(path)

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


def load_encoder(spec: str) -> TextEncoder | None:
    """ "" -> None; "sentence-transformers:/local/path"; "module.path:ClassName" (instantiated without arguments)."""
    spec = spec.strip()
    if not spec:
        return None
    prefix, _, rest = spec.partition(":")
    if not rest:
        raise ValueError(f"encoder spec {spec!r}: expected 'sentence-transformers:/path' or 'module.path:ClassName'")
    if prefix == "sentence-transformers":
        return SentenceTransformerEncoder(rest)
    try:
        encoder_class = getattr(importlib.import_module(prefix), rest)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"encoder spec {spec!r}: cannot import {rest} from {prefix}") from exc
    encoder = encoder_class()
    if not isinstance(encoder, TextEncoder):
        raise ValueError(f"encoder spec {spec!r}: {rest} has no encode(texts) method")
    return encoder
