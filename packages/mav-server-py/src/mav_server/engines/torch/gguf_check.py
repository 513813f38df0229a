"""Opening a GGUF file with gguf-py, refusing what gguf-py cannot read, before any weight is loaded."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .. import ModelError, UnsupportedModel

log = logging.getLogger("mav_server.engines.torch")

READABLE_TYPES = ("F32", "F16")
"""Tensor types gguf-py reads without a quantisation table (the rest come from `gguf.quants`)."""


def open_gguf(path: Path) -> Any:
    """A `gguf.GGUFReader` over the file (memory-mapped: nothing is read yet).

    Raises `ModelError` when the file is missing and `UnsupportedModel` when it is not a GGUF file gguf-py
    reads: corrupt, truncated, or holding a tensor type gguf-py cannot de-quantize.
    """
    import gguf
    from gguf import quants

    if not path.is_file():
        raise ModelError("model_unavailable", f"the GGUF file {path.name} is missing")
    try:
        reader = gguf.GGUFReader(path)
    except Exception as exc:
        log.warning("%s is not readable by gguf-py: %r", path, exc)
        raise UnsupportedModel(f"{path.name} is not a readable GGUF file (corrupt or truncated)") from exc
    unreadable = sorted(
        {
            tensor.tensor_type.name
            for tensor in reader.tensors
            if tensor.tensor_type.name not in READABLE_TYPES and tensor.tensor_type not in quants._type_traits
        }
    )
    if unreadable:
        raise UnsupportedModel(
            f"{path.name} holds tensors of type {', '.join(unreadable)}, which gguf-py cannot de-quantize"
        )
    return reader
