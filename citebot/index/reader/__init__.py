"""The reader: a small cross-encoder of citebot's own that reads question and passage together
(inputs.py), run with onnxruntime at answer time (model.py), trained here (data.py, train.py)."""
