"""What a training run leaves: its validation AUC, the Platt calibration of its "answers" logit on
the validation articles, and the model exported to ONNX, quantised to int8, with its tokenizer and
a reader.json that records the graph's SHA-256 (checked by citebot when it loads the reader)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ..index.reader.model import sha256


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def platt(logits: list[float], labels: list[float]) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) on the validation articles (a few hundred Newton steps)."""
    x, y = np.asarray(logits, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    a, b = 1.0, 0.0
    for _ in range(200):
        p = 1 / (1 + np.exp(-(a * x + b)))
        g = np.array([((p - y) * x).sum(), (p - y).sum()])
        w = p * (1 - p)
        h = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]]) + 1e-6 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-8:
            break
    return float(a), float(b)


def export(model, tok_path: Path, out: Path, max_tokens: int, extra: dict) -> None:
    """ONNX (fp32, then int8 dynamic quantisation), tokenizer, meta with the graph's SHA-256."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = model.float().eval()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    dummy = (torch.ones(2, 16, dtype=torch.long), torch.ones(2, 16, dtype=torch.long),
             torch.zeros(2, 16, dtype=torch.long))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    import warnings

    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, dummy, str(tmp / "fp32.onnx"), input_names=names, output_names=["logits"],
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in names + ["logits"]},
                          opset_version=17, dynamo=False)
    quantize_dynamic(str(tmp / "fp32.onnx"), str(tmp / "reader.onnx"), weight_type=QuantType.QInt8)
    (tmp / "fp32.onnx").unlink()
    shutil.copy(tok_path, tmp / "tokenizer.json")
    meta = {"graph": "reader.onnx", "sha256": sha256(tmp / "reader.onnx"), "max_tokens": max_tokens, **extra}
    (tmp / "reader.json").write_text(json.dumps(meta, indent=1))
    keep = [p for p in out.glob("*") if p.name not in {"reader.onnx", "tokenizer.json", "reader.json"}] \
        if out.exists() else []
    for p in keep:  # the model card and anything else hand-written stays
        shutil.copy(p, tmp / p.name)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
