"""The reader's network and tokenizer as training builds them: a BERT encoder (all-MiniLM-L6-v2 by
default, or any transformers folder, such as the one `reader_e5` writes) with a linear head of
CHANNELS on every token: [CLS] "answers", and per passage token "in the answering sentence", "in
the answer span"."""
from __future__ import annotations

from pathlib import Path

CHANNELS = 3


def base_model_path(name: str) -> str:
    from ..index.encoders.sentence_transformers import resolve_model

    return resolve_model(name)


def build(name: str, config=None):
    """The torch module: a BERT encoder and a linear head on every token. `config`: a
    transformers config to start from random weights instead (the tests' tiny reader)."""
    import torch
    from transformers import AutoModel

    class ReaderNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_config(config) if config is not None else \
                AutoModel.from_pretrained(base_model_path(name))
            self.head = torch.nn.Linear(self.bert.config.hidden_size, CHANNELS)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            return self.head(h)

    return ReaderNet()


def tokenizer_for(name: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(base_model_path(name)) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok
