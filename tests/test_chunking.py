"""Chunks are verbatim, sentence-bounded slices that the model never truncates."""
from citebot.index.text.chunking import chunk_article, embedding_input
from citebot.index.records import Article
from citebot.index.text.sentences import sentence_spans


def _article(text: str) -> Article:
    return Article(id="a", title="A title", text=text)


def test_chunks_are_verbatim_sentence_slices_within_the_budget(encoder):
    sentences = [f"Sentence number {i} says that the council met on day {i} to discuss the harbour." for i in range(40)]
    art = _article(" ".join(sentences[:20]) + "\n\n" + " ".join(sentences[20:]))
    chunks = chunk_article(art, encoder.count_tokens, budget=60, overlap=1)
    assert len(chunks) > 5
    starts = {s for s, _ in sentence_spans(art.text)}
    for c in chunks:
        assert art.text[c.start:c.end] == c.text
        assert c.start in starts
        assert c.text.rstrip().endswith(".")
        assert encoder.count_tokens([c.text])[0] <= 60
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "neighbouring chunks share a sentence"
    assert chunks[0].start == 0 and chunks[-1].end == len(art.text)


def test_a_sentence_over_the_budget_is_split_not_truncated(encoder):
    long_sentence = "The report lists " + ", ".join(f"item {i}" for i in range(300)) + "."
    art = _article("Short opener. " + long_sentence + " Short closer.")
    chunks = chunk_article(art, encoder.count_tokens, budget=50, overlap=0)
    covered = "".join(art.text[c.start:c.end] for c in chunks)
    assert covered.replace(" ", "") == art.text.replace(" ", "")
    assert all(encoder.count_tokens([c.text])[0] <= 50 for c in chunks)


def test_title_and_chunk_fit_the_model_window(encoder):
    title = "A very long headline " * 30
    text = embedding_input(title, "Body sentence.")
    assert encoder.count_tokens([text])[0] < 80  # the title context is capped
    assert text.endswith("\nBody sentence.")


def test_a_very_long_title_never_pushes_the_text_out_of_the_model_input(encoder):
    from citebot.index.embedding import chunk_articles
    from citebot.index.config import IndexConfig
    from citebot.index.records import Article

    title = "Extraordinarily-hyphenated-headline-words-that-tokenize-badly " * 40
    art = Article(id="t", title=title, text=" ".join(f"Sentence number {i} is here." for i in range(80)))
    chunks = chunk_articles([art], encoder, IndexConfig())[0]
    for c in chunks:
        n = encoder.count_tokens([embedding_input(title, c.text)])[0]
        assert n + 2 <= encoder.max_tokens, n



def test_chunks_made_on_every_core_are_the_same_as_in_one_process(encoder):
    from citebot.index.config import IndexConfig
    from citebot.index.embedding import chunk_articles
    from citebot.index import forked

    articles = [Article(id=f"a{i}", title=f"Wend report {i}",
                        text=f"Story {i}. The Wend rose {i} cm on Tuesday, Dr. Hale said.\n\nBuses were diverted. "
                             f"«Нова лінія відкриється у {2020 + i % 9} році.» Quay Lane flooded. " * (1 + i % 7))
                for i in range(forked.PARALLEL_FROM + 5)]
    shape = lambda chunked: [[(c.article_id, c.position, c.start, c.end, c.text, c.sentences) for c in cs] for cs in chunked]
    cfg = IndexConfig()
    parallel = chunk_articles(articles, encoder, cfg)
    one = forked.workers
    try:
        forked.workers = lambda: 1
        assert shape(parallel) == shape(chunk_articles(articles, encoder, cfg))
    finally:
        forked.workers = one
    assert forked.map_forked(lambda i: i * i, 5, processes=2) == [0, 1, 4, 9, 16]  # small: in-process
