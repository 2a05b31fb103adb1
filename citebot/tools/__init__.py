"""Developers' tools around the pipeline, never imported by it: the evaluation behind `citebot eval`
and the reader's training recipe (`make reader-data`, `make train-reader`)."""
