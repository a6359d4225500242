"""Synthetic models with what `chord synth` does not write: a synth model (F32, default seed)
copied through gguf-py with extra metadata and tensors. tests/interp/test_edited_logits.py and
scripts/make-ropefreqs-reference.py build them with this one function, so the file the reference
logits were computed on and the file the test runs are the same bytes (the test checks the
sha256: chord synth, gguf-py's writer and the edit are all deterministic).

- llama-rope-freqs: Llama 3.1's rope scaling, as convert_hf_to_gguf.py stores it, a
  rope_freqs.weight of n_rot/2 factors by which llama.cpp divides each frequency. The original
  context is 32 instead of 8192 so that the factors reach the frequencies an 8-token prompt turns
  by a noticeable angle (1, ~1.5, ~3.3, then 8). The q and k weights are scaled by SHARPEN: with
  synth's small weights attention is nearly uniform, and the positions (the factors) would hardly
  matter.
- gemma3-softcap: gemma3.final_logit_softcapping = 0.5, small enough to bend these logits (|x| < 1).
"""
import math
import os
import subprocess

import gguf
import numpy as np

TOKENS = [1, 15043, 3186, 29892, 920, 526, 366, 29973]

LLAMA_DIMS = "n_embd=128,n_layer=2,n_head=4,n_head_kv=2,n_ff=256"
GEMMA3_DIMS = "n_embd=128,n_layer=6,n_head=4,n_head_kv=1,head_dim=64,n_ff=256,sliding_window=4"
VOCAB = "ggml-vocab-llama-spm.gguf"


def llama3_rope_factors(n_rot, base, factor, low_freq_factor, high_freq_factor, orig_ctx):
    """The factors convert_hf_to_gguf.py writes for rope_type llama3 (f32, one per pair)."""
    low_wavelen = orig_ctx / low_freq_factor
    high_wavelen = orig_ctx / high_freq_factor
    factors = []
    for i in range(n_rot // 2):
        wavelen = 2 * math.pi * base ** (2 * i / n_rot)
        if wavelen < high_wavelen:
            factors.append(1.0)
        elif wavelen > low_wavelen:
            factors.append(factor)
        else:
            smooth = (orig_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


SHARPEN = 8.0

# name -> (arch, --dims, extra metadata {key: float32 value}, extra tensors {name: array},
#          scaled tensors {name suffix: factor})
CASES = {
    "llama-rope-freqs": ("llama", LLAMA_DIMS, {},
                         {"rope_freqs.weight": llama3_rope_factors(32, 10000.0, 8.0, 1.0, 4.0, 32)},
                         {".attn_q.weight": SHARPEN, ".attn_k.weight": SHARPEN}),
    "gemma3-softcap": ("gemma3", GEMMA3_DIMS, {"gemma3.final_logit_softcapping": 0.5}, {}, {}),
}


def synth(chord, data, arch, dims, path, vocab=VOCAB):
    result = subprocess.run([chord, "synth", "--arch", arch, "--dims", dims, "--type", "F32",
                             "--vocab", os.path.join(data, "vocab", vocab), "-q", "-o", path],
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"chord synth --arch {arch}: {result.stderr[-2000:]}")


def edit(source, path, keys, tensors, scaled):
    """Copies the GGUF file source to path with the extra keys (float32) and tensors (last), and
    the F32 tensors whose names end in a key of scaled multiplied by its value."""
    reader = gguf.GGUFReader(source)
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE).contents()
    writer = gguf.GGUFWriter(path, arch)
    for field in reader.fields.values():
        # the writer adds the architecture and the GGUF.* header fields itself
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for key, value in keys.items():
        writer.add_key_value(key, value, gguf.GGUFValueType.FLOAT32)
    for tensor in reader.tensors:
        data = tensor.data
        for suffix, factor in scaled.items():
            if tensor.name.endswith(suffix):
                data = (data * np.float32(factor)).astype(np.float32)
        writer.add_tensor(tensor.name, data, raw_dtype=tensor.tensor_type)
    for name, data in tensors.items():
        writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def build(name, chord, data, folder):
    """Writes case name under folder. Returns the path of the model and of the same model without
    the metadata and tensors the case adds (only scaled), which the reference compares with."""
    arch, dims, keys, tensors, scaled = CASES[name]
    synthesized = os.path.join(folder, name + ".synth.gguf")
    plain = os.path.join(folder, name + ".plain.gguf")
    path = os.path.join(folder, name + ".gguf")
    synth(chord, data, arch, dims, synthesized)
    edit(synthesized, plain, {}, {}, scaled)
    edit(synthesized, path, keys, tensors, scaled)
    return path, plain
