"""Where the index lives: the store seam (base.py), the factory keyed by CITEBOT_STORE, and one
module or folder per store (local/: segments, generations, lexical, vectors; qdrant.py)."""
