"""Train the reader (`make train-reader`): all-MiniLM-L6-v2's 6-layer BERT with a 3-channel token
head, fine-tuned on data/reader/train.jsonl (data.py) on the CPU in bf16 autocast, checkpointed
every few hundred steps and resumable; then exported to ONNX, quantised to int8, calibrated on the
validation articles and written to index/reader/weights/ with its checksum.

Loss: binary cross-entropy on the [CLS] "answers" logit, plus, on passage tokens, "in the
answering sentence" and "in the answer span" (all zero for a passage that does not answer): the
token channels teach the model *where*, which also sharpens *whether*.

Never run by the tests or CI: it takes about an hour on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from pathlib import Path

import numpy as np

from .reader_examples import Example, read
from ..index.reader.inputs import Passage, encode
from ..index.reader.model import WEIGHTS
from .reader_export import auc, export, platt
from .reader_net import CHANNELS, base_model_path, build, tokenizer_for  # noqa: F401 (the tests build from here)

TOKEN_WEIGHT = 0.5


def targets(e: Example, enc) -> tuple[np.ndarray, np.ndarray]:
    """Per token: in the answering sentence, in the answer span (0 where the passage does not answer)."""
    n = len(enc.ids)
    sent = np.zeros(n, dtype=np.float32)
    span = np.zeros(n, dtype=np.float32)
    if e.label:
        for t, (s, (a, b)) in enumerate(zip(enc.sentence_of, enc.offsets)):
            if s < 0:
                continue
            if s == e.answer_sentence:
                sent[t] = 1.0
            if e.answer_span and a < e.answer_span[1] and b > e.answer_span[0]:
                span[t] = 1.0
    return sent, span


_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")


def header_of(e: Example, rng: random.Random) -> tuple[str, str | None]:
    """The title and date the example is read with. Drawn at random so that neither says the
    answer: the archive's hard negatives all come with a news headline and a date, the QA sets'
    positives with an encyclopedia title and none, and a reader trained on them as they are
    learns "a dated news passage never answers" (the first run did: the tram story's cost
    sentence scored 0.006). So titles and dates are dropped, and dates given, alike on both sides
    (never a date to a question that names a year: that would tell it yes or no)."""
    title, date = e.title.replace("_", " "), e.date
    if rng.random() < 0.4:
        title = ""
    if date and rng.random() < 0.4:
        date = None
    elif not date and not _YEAR.search(e.question) and rng.random() < 0.5:
        date = f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return title, date


def featurise(examples: list[Example], tok, max_tokens: int, seed: int = 13) -> list[tuple]:
    """Per example: ids, type ids, label, the two token targets and, per channel, which tokens
    count. A positive whose set marks no answering sentence (BoolQ) or no answer span (SelQA, a
    headline's lead) teaches that channel nothing: all-zero targets would teach it that the answer
    is nowhere."""
    rng = random.Random(seed)
    out = []
    for e in examples:
        title, date = header_of(e, rng)
        enc = encode(tok, e.question, Passage(title, e.text, e.sentences, date), max_tokens)
        sent, span = targets(e, enc)
        passage_mask = np.asarray([1.0 if s >= 0 else 0.0 for s in enc.sentence_of], dtype=np.float32)
        sent_mask = passage_mask * float(not e.label or e.answer_sentence >= 0)
        span_mask = passage_mask * float(not e.label or e.answer_span is not None)
        out.append((enc.ids, enc.type_ids, float(e.label), sent, span, sent_mask, span_mask))
    return out


def collate(items: list[tuple]):
    import torch

    width = max(len(i[0]) for i in items)
    b = len(items)
    ids = torch.zeros(b, width, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    label = torch.zeros(b)
    sent = torch.zeros(b, width)
    span = torch.zeros(b, width)
    smask = torch.zeros(b, width)
    spmask = torch.zeros(b, width)
    for r, (i, t, y, s, sp, sm, spm) in enumerate(items):
        n = len(i)
        ids[r, :n] = torch.tensor(i)
        types[r, :n] = torch.tensor(t)
        mask[r, :n] = 1
        label[r] = y
        sent[r, :n] = torch.from_numpy(s)
        span[r, :n] = torch.from_numpy(sp)
        smask[r, :n] = torch.from_numpy(sm)
        spmask[r, :n] = torch.from_numpy(spm)
    return ids, mask, types, label, sent, span, smask, spmask


def batches(items: list[tuple], size: int, rng: random.Random) -> list[list[tuple]]:
    """Batches of similar length (less padding), in random order."""
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]) + rng.random() * 8)
    out = [[items[i] for i in order[s:s + size]] for s in range(0, len(order), size)]
    rng.shuffle(out)
    return out


def loss_of(model, batch):
    import torch.nn.functional as F

    ids, mask, types, label, sent, span, smask, spmask = batch
    logits = model(ids, mask, types).float()
    cls = F.binary_cross_entropy_with_logits(logits[:, 0, 0], label)
    tok_sent = (F.binary_cross_entropy_with_logits(logits[:, :, 1], sent, reduction="none") * smask).sum() \
        / smask.sum().clamp(min=1.0)
    tok_span = (F.binary_cross_entropy_with_logits(logits[:, :, 2], span, reduction="none") * spmask).sum() \
        / spmask.sum().clamp(min=1.0)
    return cls + TOKEN_WEIGHT * (tok_sent + tok_span), logits


def evaluate(model, items: list[tuple], size: int = 64) -> dict:
    """Validation: loss, accuracy and AUC of the answers logit, sentence accuracy on positives."""
    import torch

    model.eval()
    logits_all, labels, sent_hits, sent_total, losses = [], [], 0, 0, []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for s in range(0, len(items), size):
            chunk = items[s:s + size]
            b = collate(chunk)
            loss, logits = loss_of(model, b)
            losses.append(float(loss))
            logits_all += logits[:, 0, 0].tolist()
            labels += b[3].tolist()
            for row, (_, _, y, sent, _, pm, _) in zip(logits, chunk):
                if y and sent.any():
                    n = len(sent)
                    tok = row[:n, 1].numpy()
                    sent_total += 1
                    sent_hits += int(sent[int(np.argmax(np.where(pm > 0, tok, -1e9)))] > 0)
    model.train()
    x, y = np.asarray(logits_all), np.asarray(labels)
    return {"loss": float(np.mean(losses)), "accuracy": float(((x > 0) == (y > 0.5)).mean()),
            "auc": auc(x, y), "sentence_token_hit": sent_hits / max(1, sent_total), "n": len(items),
            "logits": x.tolist(), "labels": y.tolist()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Train the reader on data/reader/ and export it.")
    ap.add_argument("--data", type=Path, default=Path("data/reader"))
    ap.add_argument("--base", default="all-MiniLM-L6-v2")
    ap.add_argument("--max-tokens", type=int, default=192)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N examples only (0 = all)")
    ap.add_argument("--minutes", type=float, default=85.0, help="stop (and export) after this long")
    ap.add_argument("--checkpoint", type=Path, default=Path("data/reader/checkpoint.pt"))
    ap.add_argument("--every", type=int, default=200, help="checkpoint every N steps")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint as it is")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's weights (a new run: fresh optimiser)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--languages", default="en", help="question languages the reader is for (reader.json)")
    ap.add_argument("--freeze-words", action="store_true",
                    help="keep the word table as it is (a multilingual base keeps its other languages' words)")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    tok = tokenizer_for(args.base)
    train = read(args.data / "train.jsonl")
    if args.limit:
        train = train[:args.limit]
    valid = read(args.data / "valid.jsonl")
    rng.shuffle(valid)
    valid = valid[:1500]
    t0 = time.time()
    train_items = featurise(train, tok, args.max_tokens)
    valid_items = featurise(valid, tok, args.max_tokens, args.seed + 1)
    print(f"featurised {len(train_items)} + {len(valid_items)} in {time.time() - t0:.0f} s", flush=True)

    model = build(args.base)
    steps_per_epoch = math.ceil(len(train_items) / args.batch)
    total = max(1, int(steps_per_epoch * args.epochs))
    if args.freeze_words:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.01)
    warm = max(1, total // 20)
    budget = args.minutes * 60

    def lr_at(s: int, seconds: float) -> float:
        """Linear warm-up, then linear decay to zero by the end of the data or of the time budget,
        whichever comes first (a time-boxed run still ends on a small learning rate)."""
        done = max(s / total, seconds / budget)
        return args.lr * min((s + 1) / warm, max(0.0, (1 - done) / (1 - warm / total)))
    step, elapsed = 0, 0.0
    if args.init is not None and not args.checkpoint.exists():
        model.load_state_dict(torch.load(args.init, weights_only=False)["model"])
        print(f"weights from {args.init}", flush=True)
    if args.checkpoint.exists():
        ck = torch.load(args.checkpoint, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck.get("elapsed", 0.0)
        print(f"resumed at step {step}/{total}", flush=True)

    def save() -> None:
        args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.checkpoint.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                    "step": step, "elapsed": elapsed, "total": total}, tmp)
        tmp.replace(args.checkpoint)

    if not args.export_only:
        model.train()
        epoch = 0
        start = time.time() - elapsed
        began, seen = time.time(), 0  # this process's own pace (a resumed run's elapsed time includes the earlier ones)
        while step < total and (time.time() - start) < args.minutes * 60:
            plan = batches(train_items, args.batch, random.Random(args.seed + epoch))
            skip = step - epoch * steps_per_epoch
            for b in plan[max(0, skip):]:
                if step >= total or (time.time() - start) >= args.minutes * 60:
                    break
                for group in opt.param_groups:
                    group["lr"] = lr_at(step, time.time() - start)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss, _ = loss_of(model, collate(b))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad()
                step += 1
                seen += len(b)
                if step % 10 == 0:
                    el = time.time() - start
                    print(f"step {step}/{total} loss {loss.item():.4f} {seen / max(1e-9, time.time() - began):.1f} pairs/s "
                          f"{el / 60:.1f} min", flush=True)
                if step % args.every == 0:
                    elapsed = time.time() - start
                    save()
            epoch += 1
        elapsed = time.time() - start
        save()
    report = evaluate(model, valid_items)
    a, b = platt(report.pop("logits"), report.pop("labels"))
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}), flush=True)
    summary = json.loads((args.data / "summary.json").read_text()) if (args.data / "summary.json").exists() else {}
    export(model, Path(base_model_path(args.base)) / "tokenizer.json", args.out, args.max_tokens, {
        "base": args.base, "calibration": {"a": a, "b": b}, "languages": args.languages.split(","),
        "training": {"steps": step, "of": total, "batch": args.batch, "lr": args.lr, "minutes": round(elapsed / 60, 1),
                     "examples": len(train_items), "data": summary},
        "validation": {k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()}})
    print(f"exported to {args.out}", flush=True)


if __name__ == "__main__":
    main()
