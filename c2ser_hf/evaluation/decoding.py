"""How an evaluation runs C2SER: its modes (`--mode`) and decoding choices (`--decoding`, as `generate()` kwargs)."""

# "scores": the argmax of the emotion probabilities (no text); "implicit" / "explicit": generate with that prompt
MODES = ("scores", "implicit", "explicit")
DECODINGS = ("greedy", "beam", "official")


def decoding_kwargs(decoding: str, max_new_tokens: int | None = None) -> dict:
    """`generate()` kwargs for `decoding`: "greedy" (one beam), "beam" (plain 4-beam search) or "official" (the
    released model's decoder); settings not named here come from the model's generation config."""
    if decoding not in DECODINGS:
        raise ValueError(f"decoding {decoding!r} is not one of {', '.join(DECODINGS)}")
    kwargs = {"greedy": {"num_beams": 1, "do_sample": False}, "beam": {"num_beams": 4, "do_sample": False}}.get(
        decoding, {}
    )
    # "official": the place to switch to the released decoder (each beam's top-2 candidates, repetition penalty on
    # generated tokens only) once `generate()` offers it; until then it is the model's own generation config, which
    # for converted official models is 4 beams with repetition penalty 1.05 and at most 400 new tokens.
    if max_new_tokens is not None:
        kwargs["max_new_tokens"] = max_new_tokens
    return kwargs
