# The two commands a newcomer runs: `make run` (demo on the sample articles) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
SAMPLES := examples/articles
DEMO_INDEX := data/index

EVAL_DATA ?= ../shared/eval
READER_DATA ?= ../shared/reader-data
EVAL_SIZES ?= 0,2000,all

.PHONY: run test install bench eval eval-multilingual eval-cross-lingual reader-data train-reader train-reader-natural clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and pinned: it resolves to the CPU wheel here, and sentence-transformers then finds it.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[all,test]'
	touch $@

install: $(VENV)/.installed

run: install
	CITEBOT_INDEX_DIR=$(DEMO_INDEX) $(BIN)/citebot index build $(SAMPLES)
	CITEBOT_INDEX_DIR=$(DEMO_INDEX) $(BIN)/citebot index status
	@if [ -n "$$CITEBOT_TELEGRAM_TOKEN$$CITEBOT_TELEGRAM_TOKEN_FILE" ] || grep -qsE '^CITEBOT_TELEGRAM_TOKEN(_FILE)?=.+' .env; then \
		CITEBOT_INDEX_DIR=$(DEMO_INDEX) $(BIN)/citebot bot; \
	else \
		for q in "Why was the Wend bridge closed?" "How much will the Wendford tram line cost?" \
		         "What is the boiling point of liquid nitrogen?"; do \
			echo; echo "$$ citebot ask \"$$q\""; CITEBOT_INDEX_DIR=$(DEMO_INDEX) $(BIN)/citebot ask "$$q"; \
		done; \
		if [ -t 0 ]; then echo; CITEBOT_INDEX_DIR=$(DEMO_INDEX) $(BIN)/citebot ask; fi; \
	fi

test: install
	$(BIN)/ruff check citebot tests bench
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/bench_index.py

# Quality, refusals, dates and latency at three archive sizes (needs the evaluation data sets in
# EVAL_DATA); indexes are cached in data/eval-cache, so a re-run costs only the questions.
eval: install
	$(BIN)/citebot eval $(EVAL_DATA)/squad2-dev-5articles.json --questions $(EVAL_DATA)/paraphrase-dev.jsonl \
		--offtopic examples/eval/offtopic-dev.jsonl --offtopic examples/eval/offtopic-test.jsonl \
		--dates examples/eval/date-questions.jsonl \
		--dates examples/eval/date-questions-test.jsonl --distractors $(SAMPLES) \
		--distractors $(EVAL_DATA)/wikinews-en.jsonl --sizes $(EVAL_SIZES) $(EVAL_ARGS)

# The same with multilingual-e5-small, and Russian and Ukrainian questions: XQuAD's Russian translation
# of the dev articles indexed beside them (its questions asked over it and over the English articles),
# off-topic and date questions in Russian and Ukrainian.
eval-multilingual: install
	CITEBOT_EMBEDDING_MODEL=multilingual-e5-small $(BIN)/citebot eval $(EVAL_DATA)/squad2-dev-5articles.json \
		--translation $(EVAL_DATA)/xquad-dev5-ru.json --questions $(EVAL_DATA)/paraphrase-dev.jsonl \
		--offtopic examples/eval/offtopic-dev.jsonl --offtopic examples/eval/offtopic-test.jsonl \
		--offtopic examples/eval/offtopic-ru-uk-dev.jsonl --offtopic examples/eval/offtopic-ru-uk-test.jsonl \
		--dates examples/eval/date-questions.jsonl --dates examples/eval/date-questions-test.jsonl \
		--dates examples/eval/date-questions-ru-uk.jsonl --dates examples/eval/date-questions-ru-uk-test.jsonl \
		--distractors $(SAMPLES) --distractors $(EVAL_DATA)/wikinews-en.jsonl --sizes $(EVAL_SIZES) $(EVAL_ARGS)

# Russian questions over the English articles alone (no Russian copy in the archive to prefer)
eval-cross-lingual: install
	CITEBOT_EMBEDDING_MODEL=multilingual-e5-small $(BIN)/citebot eval $(EVAL_DATA)/squad2-dev-5articles.json \
		--asked-in $(EVAL_DATA)/xquad-dev5-ru.json --offtopic examples/eval/offtopic-ru-uk-dev.jsonl \
		--distractors $(SAMPLES) --distractors $(EVAL_DATA)/wikinews-en.jsonl --sizes $(EVAL_SIZES) $(EVAL_ARGS)

# The reader (citebot/index/reader/): its training data, from the open QA files named in
# citebot/tools/reader_sources.py (put them in data/reader/raw/) and the Wikinews archive in EVAL_DATA, with
# hard negatives mined from the largest archive `make eval` built; then about an hour of training on
# the CPU (checkpointed: run it again to resume), exported to citebot/index/reader/weights/.
reader-data: install
	$(BIN)/python -m citebot.tools.reader_data --eval-data $(EVAL_DATA) --natural $(READER_DATA) \
		--archive-from data/eval-cache

# four stages, each resumable: the whole set; again with titles and dates drawn at random; the
# news-weighted set; the natural-questions set (see the model card in citebot/index/reader/weights/).
# A machine that has the shipped stage-3 reader but not its checkpoint starts stage 4 from it:
# `$(BIN)/python -m citebot.tools.reader_unpack data/reader/stage3.pt --from FOLDER`.
train-reader: install
	$(BIN)/python -m citebot.tools.reader_train --minutes 70 --checkpoint data/reader/stage1.pt --out data/reader/stage1
	$(BIN)/python -m citebot.tools.reader_train --init data/reader/stage1.pt --checkpoint data/reader/stage2.pt \
		--epochs 0.5 --minutes 20 --lr 3e-5 --out data/reader/stage2
	$(BIN)/python -m citebot.tools.reader_train --data data/reader/news --init data/reader/stage2.pt \
		--checkpoint data/reader/stage3.pt --minutes 14 --lr 3e-5 --out data/reader/stage3
	$(MAKE) train-reader-natural

train-reader-natural: install
	$(BIN)/python -m citebot.tools.reader_train --data data/reader/natural --init data/reader/stage3.pt \
		--checkpoint data/reader/stage4.pt --minutes 55 --lr 3e-5

clean:
	rm -rf $(VENV) data .pytest_cache
