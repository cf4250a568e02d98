"""Corpus builders that write Hub-ready datasets (parquet + README YAML configs + dataset card).

`corpora.CORPORA` lists the supported corpora; `corpora.read_corpus` reads one from its distribution layout or from
EmoBox metadata; `writer.write_dataset` decodes, filters and writes it; `c2ser_hf.prepare_data` does both."""
