"""Running a model over a whole corpus: resumable after a kill, data-parallel under torchrun / accelerate launch
(each process appends its share to its own file, the first merges them), from a dataset held locally or streamed.
`evaluate` and `predict --dataset` both run this way."""
