"""CITEBOT_EMBEDDING_DTYPE: an explicit precision is taken as it is; `auto` is measured once per
machine and model and read back from the user's cache; int8 passages (onnxruntime) agree with fp32
and an index built in int8 is not mixed with fp32 or bf16 vectors by an update."""
from __future__ import annotations

import json

import numpy as np
import pytest

from citebot.index.encoders import precision, probe
from citebot.index.encoders.base import ModelError
from citebot.index.encoders.precision import Choice, choose, decide, mixable, served_precision

from conftest import write_articles

MODEL = "all-MiniLM-L6-v2"
FIGURES = probe.Measurement({"fp32": 52.0, "bf16": 151.0, "int8": 88.0}, {"mean": 0.996, "min": 0.99})


@pytest.fixture
def cache(monkeypatch, tmp_path):
    """An empty user cache of the test's own, on a machine with nothing else running."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(precision, "machine_busy", lambda: None)
    return tmp_path / "cache" / "citebot" / "precision.json"


@pytest.fixture
def timings(monkeypatch):
    """Every call the probe would time, counted; the figures FIGURES says."""
    calls = []

    def fake(model, candidates):
        calls.append((model, precision.cpu_model()))
        return FIGURES

    monkeypatch.setattr(probe, "measure", fake)
    return calls


def test_explicit_settings_are_taken_without_measuring(cache, timings):
    for setting in ("fp32", "bf16", "int8", "INT8"):
        assert choose(MODEL, setting) == Choice(setting.lower(), "set by CITEBOT_EMBEDDING_DTYPE")
    assert timings == [] and not cache.exists()
    with pytest.raises(ModelError, match="unknown embedding dtype 'fp16'"):
        choose(MODEL, "fp16")


def test_auto_measures_once_per_machine_and_model_then_reads_the_cache(cache, timings, monkeypatch):
    first = choose(MODEL, "auto")
    assert first.precision == "bf16"
    assert first.why.startswith("measured: bf16 151 chunks/s, int8 88, fp32 52 on ")
    assert json.loads(cache.read_text())  # kept for the next build
    again = choose(MODEL, "auto")
    assert again.precision == "bf16" and again.why.startswith("cached measurement of 20")
    assert len(timings) == 1
    choose("paraphrase-MiniLM-L3-v2", "auto")  # another model: measured apart
    monkeypatch.setattr(precision, "cpu_model", lambda: "Another CPU")
    choose(MODEL, "auto")  # the same model on another CPU (a copied home folder)
    assert len(timings) == 3
    assert any("Another CPU" in key for key in json.loads(cache.read_text()))


def test_without_measuring_a_question_fallback_guesses(cache, timings):
    assert choose(MODEL, "auto", measure=False).why.startswith("not measured yet: ")
    assert timings == []


def test_a_busy_cpu_is_not_timed_and_a_later_build_measures(cache, timings, monkeypatch):
    monkeypatch.setattr(precision, "machine_busy", lambda: "the CPU is busy (load 3.4 on 2 cores)")
    monkeypatch.setattr(precision, "cpu_flags", lambda: ["avx512_bf16"])  # no AMX: bf16 is no sure win
    assert choose(MODEL, "auto") == Choice(
        "fp32", "not measured: the CPU is busy (load 3.4 on 2 cores), a timing now would rank the other work: fp32")
    assert timings == [] and not cache.exists()
    monkeypatch.setattr(precision, "machine_busy", lambda: None)
    assert choose(MODEL, "auto").why.startswith("measured: ") and len(timings) == 1


def test_a_failing_probe_gives_fp32_with_the_reason_and_is_tried_again(cache, monkeypatch):
    calls = []

    def broken(model, candidates):
        calls.append(model)
        raise RuntimeError("no model here")

    monkeypatch.setattr(probe, "measure", broken)
    assert choose(MODEL, "auto") == Choice("fp32", "measurement failed (RuntimeError: no model here): fp32")
    choose(MODEL, "auto")
    assert len(calls) == 2 and not cache.exists()  # a failure is not remembered


def test_int8_only_when_fastest_and_in_agreement_with_fp32():
    rates = {"fp32": 50.0, "bf16": 60.0, "int8": 90.0}
    assert decide(rates, {"mean": 0.9995, "min": 0.999}, cpu="X")[0] == "int8"
    best, why = decide(rates, {"mean": 0.997, "min": 0.99}, cpu="X")  # today's int8: its search loses 4%
    assert best == "bf16" and "int8 left out: agrees with fp32 only to 0.997" in why
    best, why = decide({"fp32": 50.0, "bf16": 51.0}, cpu="X")  # within timing noise: fp32's arithmetic
    assert best == "fp32" and "bf16 is not 5% faster" in why
    assert decide({"fp32": 50.0}, left_out={"int8": "the int8 export failed (X)"}, cpu="X") == \
        ("fp32", "fp32 50 chunks/s on X; int8 left out: the int8 export failed (X)")


def test_only_int8_refuses_to_mix():
    assert mixable("fp32", "bf16") and mixable("bf16", "fp32") and mixable("int8", "int8")
    assert not mixable("int8", "fp32") and not mixable("bf16", "int8")
    assert served_precision({"dtype": "bf16"}) == "bf16"  # an index from before precisions were recorded
    assert served_precision({}) == "fp32"


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory):
    """One int8 export for this module's tests (made and checked against fp32, ~10 s)."""
    from citebot.index.encoders.int8_passage import load_int8_encoder

    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(folder))
        encoder = load_int8_encoder(MODEL)
    return folder, encoder


TEXTS = ["The council approved the tram line on Tuesday. Work starts in May. Residents were split.",
         "Storm closes harbour. Ferries to the islands were cancelled for a second day as winds rose.",
         "Prices rose 3.2 percent in the year to March. Economists had expected 3.0 percent. " * 6,
         "Short one."]


def _spans(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for part in text.split(". "):
        out.append((start, start + len(part)))
        start += len(part) + 2
    return out


def test_int8_passages_agree_with_fp32_and_keep_the_shapes(int8_cache):
    from citebot.index.encoders.factory import load_encoder

    _, int8 = int8_cache
    fp32 = load_encoder(MODEL, "fp32")
    assert (int8.dtype, int8.dimension, int8.max_tokens, int8.name) == ("int8", 384, fp32.max_tokens, MODEL)
    assert int8.count_tokens(TEXTS) == fp32.count_tokens(TEXTS)  # chunks come out the same size
    spans = [_spans(t) for t in TEXTS]
    ref, ref_sent = fp32.encode_with_sentences(TEXTS, spans, batch_size=2)
    got, got_sent = int8.encode_with_sentences(TEXTS, spans, batch_size=2)
    assert got.shape == ref.shape and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert np.sum(ref * got, axis=1).min() >= 0.99
    assert [s.shape for s in got_sent] == [s.shape for s in ref_sent]
    ref_sent, got_sent = np.concatenate(ref_sent), np.concatenate(got_sent)
    empty = np.linalg.norm(ref_sent, axis=1) == 0  # a span with no token in it (the text's trailing ". ")
    assert empty.any() and not got_sent[empty].any()
    assert np.sum(ref_sent * got_sent, axis=1)[~empty].min() >= 0.97
    assert int8.encode_queries(["who voted?"]).shape == (1, 384)


def test_an_int8_index_refuses_an_update_in_fp32_and_auto_keeps_int8(cli, tmp_path, int8_cache, monkeypatch,
                                                                   timings):
    monkeypatch.setenv("XDG_CACHE_HOME", str(int8_cache[0]))
    src = write_articles(tmp_path / "src", {f"{i}.json": {"id": f"a{i}", "title": f"Tram vote {i}",
                                                           "text": f"The council voted {i} times on the tram."}
                                            for i in range(2)})
    code, out, err = cli("index", "build", str(src), env={"CITEBOT_EMBEDDING_DTYPE": "int8"})
    assert code == 0, err
    assert "embedding precision: int8 (set by CITEBOT_EMBEDDING_DTYPE)" in out
    assert "question encoder could not be exported" not in err  # questions still get the fp32 ONNX export
    info = json.loads(cli("index", "status", "--json")[1])
    assert info["precision"] == "int8" and info["precision_why"] == "set by CITEBOT_EMBEDDING_DTYPE"
    assert "precision:        int8 (set by CITEBOT_EMBEDDING_DTYPE)" in cli("index", "status")[1]

    write_articles(src, {"2.json": {"id": "a2", "title": "Tram vote 2", "text": "The mayor welcomed the vote."}})
    code, out, err = cli("index", "update", env={"CITEBOT_EMBEDDING_DTYPE": "fp32"})
    assert code == 1
    assert "built with int8 vectors, the settings say fp32: rebuild it with `citebot index build" in err

    code, out, err = cli("index", "update", "--json")  # auto: the index's precision, whatever was measured
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == 1 and report["precision"] == "int8"
    from citebot.index.encoders.factory import load_encoder

    if load_encoder(MODEL, "auto").precision != "int8":  # what auto chose (FIGURES: bf16, unless loaded before)
        assert report["precision_why"] == "the index's own (int8): auto keeps it, a change needs a rebuild"
