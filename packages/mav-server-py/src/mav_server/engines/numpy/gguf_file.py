"""A GGUF file's header: metadata and tensor directory, parsed without reading the weights.

gguf-py's `GGUFReader` builds a memory-mapped view per array element, which takes seconds for a
49,152-token vocabulary; this parser reads the same layout (gguf-py's constants, little-endian
GGUF v2/v3) with `struct` in well under a second. Weights stay on disk until `tensor_bytes` maps them.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGMLQuantizationType, GGUFValueType


class GgufError(Exception):
    """A GGUF file this engine cannot run; the message says why, in words a user can act on."""


_SCALARS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B",
    GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H",
    GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I",
    GGUFValueType.INT32: "<i",
    GGUFValueType.FLOAT32: "<f",
    GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q",
    GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT64: "<d",
}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    """numpy order (rows first): GGUF lists dimensions innermost first, this is that list reversed."""
    qtype: GGMLQuantizationType
    offset: int
    """Absolute byte offset of the data in the file."""
    n_bytes: int


class _Cursor:
    """Reads little-endian values from a buffer; running past its end means the file is truncated."""

    def __init__(self, buffer: Any, size: int) -> None:
        self.buffer = buffer
        self.size = size
        self.pos = 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GgufError(f"the file is truncated or corrupt: {what} runs past its end ({self.size} bytes)")

    def scalar(self, fmt: str, what: str) -> Any:
        size = struct.calcsize(fmt)
        self.need(size, what)
        (value,) = struct.unpack_from(fmt, self.buffer, self.pos)
        self.pos += size
        return value

    def string(self, what: str) -> str:
        n = self.scalar("<Q", what)
        self.need(n, what)
        raw = bytes(self.buffer[self.pos : self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise GgufError(f"the file is corrupt: {what} is not UTF-8") from None

    def value(self, kind: int, what: str) -> Any:
        if kind == GGUFValueType.STRING:
            return self.string(what)
        if kind == GGUFValueType.ARRAY:
            return self.array(what)
        try:
            return self.scalar(_SCALARS[GGUFValueType(kind)], what)
        except (ValueError, KeyError):
            raise GgufError(f"the file is corrupt: {what} has unknown value type {kind}") from None

    def array(self, what: str) -> Any:
        kind = self.scalar("<I", what)
        count = self.scalar("<Q", what)
        if kind == GGUFValueType.STRING:
            self.need(count * 8, what)  # every string has at least its length
            # The vocabulary: tens of thousands of short strings, read in one tight loop.
            buffer, pos, unpack, out = self.buffer, self.pos, struct.unpack_from, []
            append = out.append
            try:
                for _ in range(count):
                    (n,) = unpack("<Q", buffer, pos)
                    pos += 8
                    if pos + n > self.size:
                        raise GgufError(f"the file is truncated or corrupt: {what} runs past its end")
                    append(bytes(buffer[pos : pos + n]).decode("utf-8"))
                    pos += n
            except struct.error:
                raise GgufError(f"the file is truncated or corrupt: {what} runs past its end") from None
            except UnicodeDecodeError:
                raise GgufError(f"the file is corrupt: an entry of {what} is not UTF-8") from None
            self.pos = pos
            return out
        if kind == GGUFValueType.ARRAY:
            return [self.array(what) for _ in range(count)]
        try:
            fmt = _SCALARS[GGUFValueType(kind)]
        except (ValueError, KeyError):
            raise GgufError(f"the file is corrupt: {what} has unknown element type {kind}") from None
        size = struct.calcsize(fmt)
        self.need(count * size, what)
        values = np.frombuffer(self.buffer, dtype=np.dtype(fmt), count=count, offset=self.pos).copy()
        self.pos += count * size
        return values


@dataclass(frozen=True)
class GgufFile:
    """The parsed header of one GGUF file: `metadata` (key -> value; numeric arrays as numpy arrays,
    string arrays as lists) and `tensors` (name -> `TensorInfo`)."""

    path: Path
    metadata: dict[str, Any]
    tensors: dict[str, TensorInfo]
    size: int

    @classmethod
    def read(cls, path: str | Path) -> GgufFile:
        path = Path(path)
        try:
            with path.open("rb") as f, _mapped(f.fileno()) as buffer:
                return cls._parse(path, buffer, len(buffer))
        except OSError as exc:
            raise GgufError(f"cannot read {path}: {exc.strerror or exc}") from None

    @classmethod
    def _parse(cls, path: Path, buffer: Any, size: int) -> GgufFile:
        cur = _Cursor(buffer, size)
        magic = cur.scalar("<I", "the magic number")
        if magic != GGUF_MAGIC:
            if magic == struct.unpack("<I", struct.pack(">I", GGUF_MAGIC))[0]:
                raise GgufError(f"{path.name} is a big-endian GGUF; only little-endian files are supported")
            raise GgufError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")
        version = cur.scalar("<I", "the version")
        if version not in (2, 3):
            raise GgufError(f"{path.name} is GGUF version {version}; versions 2 and 3 are supported")
        n_tensors = cur.scalar("<Q", "the tensor count")
        n_kv = cur.scalar("<Q", "the metadata count")
        metadata: dict[str, Any] = {}
        for index in range(n_kv):
            key = cur.string(f"metadata key #{index}")
            metadata[key] = cur.value(cur.scalar("<I", f"the type of {key}"), key)
        cur.need(n_tensors * 24, "the tensor directory")  # name length, dims, type, offset at least
        infos = []
        for index in range(n_tensors):
            name = cur.string(f"tensor name #{index}")
            n_dims = cur.scalar("<I", f"the dimensions of {name}")
            if not 1 <= n_dims <= 4:
                raise GgufError(f"the file is corrupt: tensor {name} has {n_dims} dimensions")
            dims = [cur.scalar("<Q", f"the dimensions of {name}") for _ in range(n_dims)]
            kind = cur.scalar("<I", f"the type of {name}")
            offset = cur.scalar("<Q", f"the offset of {name}")
            infos.append((name, dims, kind, offset))
        alignment = metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
            raise GgufError(f"the file is corrupt: general.alignment is {alignment!r}, not a power of two")
        data_start = -(-cur.pos // alignment) * alignment
        tensors: dict[str, TensorInfo] = {}
        for name, dims, kind, offset in infos:
            try:
                qtype = GGMLQuantizationType(kind)
            except ValueError:
                raise GgufError(f"tensor {name} has type {kind}, which gguf-py does not know") from None
            block_size, type_size = GGML_QUANT_SIZES[qtype]
            if dims[0] % block_size:
                raise GgufError(
                    f"the file is corrupt: tensor {name} rows of {dims[0]} are not whole "
                    f"{qtype.name} blocks of {block_size}"
                )
            n_bytes = int(np.prod(dims, dtype=np.int64)) // block_size * type_size
            start = data_start + offset
            if start + n_bytes > size:
                raise GgufError(
                    f"the file is truncated: tensor {name} ends at byte {start + n_bytes}, "
                    f"the file has {size} bytes"
                )
            tensors[name] = TensorInfo(name, tuple(reversed(dims)), qtype, start, n_bytes)
        if len(tensors) != len(infos):
            raise GgufError("the file is corrupt: two tensors have the same name")
        return cls(path, metadata, tensors, size)

    @contextmanager
    def tensor_bytes(self) -> Iterator[Any]:
        """The file mapped read-only: slice it with a `TensorInfo`'s offset and `n_bytes`."""
        try:
            with self.path.open("rb") as f, _mapped(f.fileno()) as buffer:
                if len(buffer) != self.size:
                    raise GgufError(f"{self.path} changed size since its header was read")
                yield buffer
        except OSError as exc:
            raise GgufError(f"cannot read {self.path}: {exc.strerror or exc}") from None


@contextmanager
def _mapped(fileno: int) -> Iterator[memoryview]:
    try:
        mapped = mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file cannot be mapped
        raise GgufError("the file is empty") from None
    view = memoryview(mapped)
    try:
        yield view
    finally:
        try:
            view.release()
            mapped.close()
        except BufferError:  # an array still reads from it (a failure's traceback): closed when freed
            pass
