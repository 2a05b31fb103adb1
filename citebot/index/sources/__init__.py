"""Where articles come from: files and folders, RSS/Atom feeds and page URLs (one module per
kind, a factory in factory.py), the parsers that turn bytes into Articles, and near-duplicate
grouping lives below them, in ..duplicates)."""
