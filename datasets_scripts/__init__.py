"""Corpus builders (one per corpus) that write Hub-ready datasets; filled in by the corpora issue."""
