"""Old import path: the question encoder lives in index/encoders/onnx_query.py."""
from .encoders.onnx_query import (FOLDER, MIN_COSINE, OnnxQueryEncoder, export_query_model,  # noqa: F401
                                  load_query_encoder, model_key, query_model_dir)
