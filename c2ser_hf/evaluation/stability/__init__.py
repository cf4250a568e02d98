"""Stability evaluation (C2SER's claim): how often the recognised emotion flips when the prompt's wording, the
recording conditions or the decoding change but the speech does not. `evaluate_stability` runs it through the
evaluation harness; `metrics` holds the flip rate, Fleiss' κ and Jensen–Shannon divergence. The family names live
here, where the command line reads them without importing numpy."""

FAMILIES = ("prompts", "conditions", "decoding")
DEFAULT_FAMILIES = ("conditions",)  # clean + 9 conditions: about 10 times one evaluation


def __getattr__(name):
    if name == "evaluate_stability":
        from .runner import evaluate_stability

        return evaluate_stability
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_FAMILIES", "FAMILIES", "evaluate_stability"]
