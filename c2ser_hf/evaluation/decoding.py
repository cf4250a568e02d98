"""How an evaluation runs C2SER: its modes (`--mode`) and decoding choices (`--decoding`, as `generate()` kwargs)."""

# "scores": the argmax of the emotion probabilities (no text); "implicit" / "explicit": generate with that prompt
MODES = ("scores", "implicit", "explicit")
# the names of `generate(decoding=...)`'s presets (modeling/generation_c2ser.py; a test keeps the two equal), here so
# that the CLI lists them without importing torch
DECODINGS = ("greedy", "beam", "official")


def decoding_kwargs(decoding: str, max_new_tokens: int | None = None) -> dict:
    """`generate()` kwargs for `decoding`: "greedy" (one beam), "beam" (plain 4-beam search) or "official" (the
    released model's decoder: each beam's top-2 candidates, repetition penalty 1.05 on generated tokens only);
    settings not named here, such as the length limit, come from the model's generation config."""
    if decoding not in DECODINGS:
        raise ValueError(f"decoding {decoding!r} is not one of {', '.join(DECODINGS)}")
    kwargs = {"decoding": decoding}
    if max_new_tokens is not None:
        kwargs["max_new_tokens"] = max_new_tokens
    return kwargs
