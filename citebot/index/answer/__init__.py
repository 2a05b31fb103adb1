"""The answer path, one stage a module: dates (the period a question names), fusion, cues and
scoring (sentences and chunks), compose (extracts), abstain (answer or "not found"), and pipeline,
which runs them over a store."""
from .pipeline import Retriever
from .records import Answer, AnswerConfig, Fusion, Picker, ReaderRole

__all__ = ["Answer", "AnswerConfig", "Fusion", "Picker", "ReaderRole", "Retriever"]
