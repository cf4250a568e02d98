"""Corpus builders that write Hub-ready datasets (parquet + README YAML configs + dataset card).

`corpora.CORPORA` lists the supported corpora; `corpora.read_corpus` reads one from its distribution layout or from
EmoBox metadata; `writer.write_dataset` decodes, filters and writes it; `c2ser_hf.prepare_data` does both.
Imports go one way (docs/architecture.md#folders): `c2ser_hf/` calls these modules; they use the label set of
`processing/` and libraries, never a module of `c2ser_hf/`."""
