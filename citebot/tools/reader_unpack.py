"""A shipped reader's weights back as a training checkpoint: `reader_train --init` can then start from
the reader users have, even on a machine that never trained it (its PyTorch checkpoint is not shipped).

    python -m citebot.tools.reader_unpack data/reader/shipped.pt [--from FOLDER]

The int8 graph holds each linear layer's weight quantised (`MatMulInteger` with a scale and zero
point, transposed) and the embeddings as `DequantizeLinear` tables; everything else in fp32 under
its PyTorch name. Dequantised weights differ from the trained ones by at most half a quantisation
step, which fine-tuning absorbs.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from ..index.reader.model import WEIGHTS

_LINEAR = re.compile(r"^/(.+)/MatMul_quant$")


def state_dict_from_onnx(graph: Path) -> dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(graph))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}

    def dequantised(name: str) -> np.ndarray:
        base = name.removesuffix("_quantized")
        q = inits[name].astype(np.float32)
        return (q - inits[base + "_zero_point"].astype(np.float32)) * inits[base + "_scale"].astype(np.float32)

    out = {n: v.astype(np.float32) for n, v in inits.items()
           if not n.endswith(("_quantized", "_scale", "_zero_point")) and not n.startswith("onnx::") and v.dtype.kind == "f"}
    for n in inits:
        if n.startswith("bert.embeddings.") and n.endswith("_quantized"):
            out[n.removesuffix("_quantized")] = dequantised(n)
    for node in model.graph.node:
        m = _LINEAR.match(node.name)
        if node.op_type == "MatMulInteger" and m:
            out[m.group(1).replace("/", ".") + ".weight"] = dequantised(node.input[1]).T.copy()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write a shipped reader's weights as a checkpoint for reader_train --init.")
    ap.add_argument("out", type=Path)
    ap.add_argument("--from", dest="folder", type=Path, default=WEIGHTS)
    ap.add_argument("--base", default="all-MiniLM-L6-v2")
    args = ap.parse_args(argv)
    import torch

    from .reader_net import build

    model = build(args.base)
    weights = {k: torch.from_numpy(v) for k, v in state_dict_from_onnx(args.folder / "reader.onnx").items()}
    own = model.state_dict()
    # the pooler is not used, so not exported
    missing = [k for k in own if k not in weights and not k.endswith("position_ids") and ".pooler." not in k]
    if missing:
        raise SystemExit(f"the graph lacks {len(missing)} weights, e.g. {missing[:3]}")
    own.update({k: v.reshape(own[k].shape) for k, v in weights.items() if k in own})
    model.load_state_dict(own)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, args.out)
    print(f"{len(weights)} tensors from {args.folder / 'reader.onnx'} -> {args.out}")


if __name__ == "__main__":
    main()
