"""What the quantization checks share: the seeded test data, the bridge to quant_tool, and the
error measure. scripts/make-quant-reference.py imports this too, so the committed llama.cpp
figures are measured on exactly the rows the tests quantize."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
REFERENCE_JSON = DATA_DIR / "reference.json"
Q8_K_BLOCKS = DATA_DIR / "q8_k_blocks.bin"  # random Q8_K blocks ...
Q8_K_VALUES = DATA_DIR / "q8_k_values.bin"  # ... and ggml's dequantization of them, f32

ROW_ELEMS = 4096
ROWS = 256
Q8_K_SAMPLE_BLOCKS = 64


def datasets() -> dict[str, np.ndarray]:
    """Rows of ROW_ELEMS f32 values, ROWS per set, the same on every run and machine (numpy's
    default_rng streams are stable). "scaled" gives every row its own magnitude from 1e-4 to 1e2,
    which exercises small f16 scales and rows far from unit variance."""
    shape = (ROWS, ROW_ELEMS)
    normal = np.random.default_rng(20240601).standard_normal(shape, dtype=np.float32)
    uniform = np.random.default_rng(20240602).uniform(-1.0, 1.0, shape).astype(np.float32)
    rng = np.random.default_rng(20240603)
    magnitude = 10.0 ** rng.uniform(-4.0, 2.0, (ROWS, 1))
    scaled = (rng.standard_normal(shape) * magnitude).astype(np.float32)
    return {"normal": normal, "uniform": uniform, "scaled": scaled}


def rmse(approx: np.ndarray, exact: np.ndarray) -> float:
    """Root mean square error, accumulated in f64."""
    diff = approx.astype(np.float64).ravel() - exact.astype(np.float64).ravel()
    return float(np.sqrt(np.mean(diff * diff)))


def q8_k_sample_blocks() -> np.ndarray:
    """Random Q8_K blocks (uint8, one row per block) with finite f32 scales of many magnitudes.
    Their bsums are random too: decoding ignores them."""
    rng = np.random.default_rng(20240604)
    blocks = rng.integers(0, 256, (Q8_K_SAMPLE_BLOCKS, 292), dtype=np.uint8)
    d = (rng.standard_normal(Q8_K_SAMPLE_BLOCKS) * 10.0 ** rng.uniform(-8, 8, Q8_K_SAMPLE_BLOCKS))
    blocks[:, 0:4] = d.astype(np.float32).view(np.uint8).reshape(-1, 4)
    return blocks


@dataclass(frozen=True)
class ChordType:
    name: str
    ggml_id: int
    block_elems: int
    block_bytes: int
    has_dequantize: bool
    has_quantize: bool


class QuantTool:
    """Runs tests/quant/quant_tool: raw bytes in, raw bytes out."""

    def __init__(self, path: str):
        self.path = path

    def _run(self, args: list[str], data: bytes) -> bytes:
        done = subprocess.run([self.path, *args], input=data, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"quant_tool {' '.join(args)} failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def types(self) -> list[ChordType]:
        rows = []
        for line in self._run(["types"], b"").decode().splitlines():
            name, ggml_id, elems, size, deq, q = line.split()
            rows.append(ChordType(name, int(ggml_id), int(elems), int(size), deq == "1", q == "1"))
        return rows

    def dequantize(self, type_name: str, blocks: np.ndarray) -> np.ndarray:
        return np.frombuffer(self._run(["dequantize", type_name], blocks.tobytes()), dtype=np.float32)

    def quantize(self, type_name: str, values: np.ndarray) -> np.ndarray:
        data = np.ascontiguousarray(values, dtype=np.float32).tobytes()
        return np.frombuffer(self._run(["quantize", type_name], data), dtype=np.uint8)

    def rejects(self, args: list[str], data: bytes) -> bool:
        return subprocess.run([self.path, *args], input=data, capture_output=True).returncode != 0
