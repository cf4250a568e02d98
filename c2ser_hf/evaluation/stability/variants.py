"""The variants of a clip that change nothing emotional, each seeded by (clip, variant) so that a rerun, a resumed run
and a run over several processes see the same audio and draw the same answers.

Families: "prompts" (paraphrases of the mode's prompt, shipped in paraphrases.json, one set per answer language),
"conditions" (recording conditions that keep the emotion: gain, added noise, telephone band, lossy codecs, trims) and
"decoding" (answers sampled beside the deterministic one). The "clean" variant (the released prompt, the audio as it
is, the run's own decoding) is what every other variant is compared with.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import FAMILIES

CLEAN = "clean"
PARAPHRASES = Path(__file__).resolve().parent / "paraphrases.json"
PROMPT_MODES = ("implicit", "explicit")
TRIM_SHARE = 0.05
TELEPHONE_RATE = 8000


@dataclass(frozen=True)
class Variant:
    name: str
    family: str | None  # None for the clean variant
    prompt: int | None = None  # index into the paraphrases of the clip's language
    condition: str | None = None  # a key of CONDITIONS
    sample: bool = False  # an answer sampled at the run's temperature


def seed_of(clip_id: str, variant: str) -> int:
    """A 64-bit seed from (clip, variant) alone."""
    return int.from_bytes(hashlib.sha256(f"{clip_id}\0{variant}".encode()).digest()[:8], "little")


def _gain(db):
    def apply(waveform, rate, rng):
        return waveform * np.float32(10 ** (db / 20))
    return apply


def _noise(snr_db):
    def apply(waveform, rate, rng):
        import torch
        import torchaudio.functional as F

        noise = torch.from_numpy(rng.standard_normal(len(waveform)).astype(np.float32))
        return F.add_noise(torch.from_numpy(waveform)[None], noise[None], torch.tensor([float(snr_db)]))[0].numpy()
    return apply


def _telephone(waveform, rate, rng):
    import torch
    import torchaudio.functional as F

    narrow = F.resample(torch.from_numpy(waveform), rate, TELEPHONE_RATE)
    return _same_length(F.resample(narrow, TELEPHONE_RATE, rate).numpy(), len(waveform))


def _codec(format_name):
    def apply(waveform, rate, rng):
        """A round trip through the codec with torchcodec, as the package decodes audio; back at the clip's rate."""
        import torch
        import torchaudio.functional as F
        from torchcodec.encoders import AudioEncoder

        from ...dataset_io import decode_samples

        encoded = AudioEncoder(torch.from_numpy(waveform)[None], sample_rate=rate).to_tensor(format_name)
        samples, decoded_rate = decode_samples({"bytes": encoded.numpy().tobytes(), "path": None},
                                               f"{format_name} round trip")
        samples = torch.from_numpy(samples)
        if decoded_rate != rate:  # Opus decodes at 48 kHz
            samples = F.resample(samples, decoded_rate, rate)
        return _same_length(samples.numpy(), len(waveform))
    return apply


def _trim(where):
    def apply(waveform, rate, rng):
        cut = int(round(TRIM_SHARE * len(waveform)))
        return waveform[cut:] if where == "start" else waveform[:len(waveform) - cut]
    return apply


def _same_length(waveform: np.ndarray, length: int) -> np.ndarray:
    """Resampling and codecs may add or drop a few samples (codec delay, filter edges): the clip's length again, so
    that only the condition differs, not the model's speech-block length."""
    waveform = waveform[:length]
    return np.pad(waveform, (0, length - len(waveform))).astype(np.float32)


# name: what it does to a float waveform at its own rate (the rng is seeded by clip and variant)
CONDITIONS = {
    "gain-6dB": _gain(-6.0),
    "gain+6dB": _gain(6.0),
    "noise-snr20": _noise(20.0),
    "noise-snr10": _noise(10.0),
    "telephone": _telephone,
    "mp3": _codec("mp3"),
    "opus": _codec("opus"),
    "trim-start": _trim("start"),
    "trim-end": _trim("end"),
}


def apply_condition(variant: Variant, clip_id: str, waveform: np.ndarray, rate: int) -> np.ndarray:
    """The clip as `variant` hears it (the clip itself for variants that change no audio)."""
    if variant.condition is None:
        return waveform
    rng = np.random.default_rng(seed_of(clip_id, variant.name))
    return np.ascontiguousarray(CONDITIONS[variant.condition](np.asarray(waveform, dtype=np.float32), rate, rng))


def load_paraphrases(path=None) -> dict:
    """{mode: {language: [prompt, ...]}}: the shipped paraphrases, extended by the file at `path` (same layout), or
    replaced by it when it holds `"replace": true`. Each mode's languages must hold as many paraphrases each, since
    variant k asks paraphrase k of the clip's language."""
    shipped = json.loads(PARAPHRASES.read_text(encoding="utf-8"))
    if path is None:
        return shipped
    try:
        mine = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: cannot read a JSON paraphrase file ({error})") from None
    if not isinstance(mine, dict) or set(mine) - {"replace", *PROMPT_MODES}:
        raise ValueError(f"{path}: a paraphrase file is a JSON object {{\"implicit\"|\"explicit\": {{\"en\"|\"zh\": "
                         "[prompt, ...]}}, \"replace\": true|false}}")
    merged = {} if mine.get("replace") else shipped
    for mode in PROMPT_MODES:
        for language, prompts in (mine.get(mode) or {}).items():
            if language not in ("en", "zh") or not isinstance(prompts, list) or not all(
                    isinstance(p, str) and p.strip() for p in prompts):
                raise ValueError(f"{path}: {mode}.{language} must be a list of non-empty prompts for 'en' or 'zh'")
            merged.setdefault(mode, {})[language] = merged.get(mode, {}).get(language, []) + prompts
    for mode, languages in merged.items():
        counts = {language: len(prompts) for language, prompts in languages.items()}
        if len(set(counts.values())) > 1:
            raise ValueError(f"{path}: {mode} has {counts} paraphrases per language; give each language as many")
    return merged


def variants_for(families, mode: str, paraphrases: dict, samples: int, classifier: bool = False) -> list[Variant]:
    """The clean variant, then each asked family's variants that apply: prompts and sampling need a C2SER model,
    sampling needs generated answers (not "scores"), and "scores" are conditioned on the implicit prompt."""
    unknown = [family for family in families if family not in FAMILIES]
    if unknown:
        raise ValueError(f"stability families {unknown} are not among {', '.join(FAMILIES)}")
    found = [Variant(CLEAN, None)]
    if "prompts" in families and not classifier:
        prompt_mode = "implicit" if mode == "scores" else mode
        count = max((len(p) for p in paraphrases.get(prompt_mode, {}).values()), default=0)
        found += [Variant(f"prompt-{k + 1}", "prompts", prompt=k) for k in range(count)]
    if "conditions" in families:
        found += [Variant(name, "conditions", condition=name) for name in CONDITIONS]
    if "decoding" in families and not classifier and mode != "scores":
        found += [Variant(f"sample-{k + 1}", "decoding", sample=True) for k in range(samples)]
    return found


def prompt_for(variant: Variant, mode: str, language: str | None, paraphrases: dict) -> str | None:
    """The prompt of `variant` for a clip in `language` ("en" when unknown), None for the mode's own prompt."""
    if variant.prompt is None:
        return None
    by_language = paraphrases["implicit" if mode == "scores" else mode]
    prompts = by_language.get(language) or by_language.get("en") or next(iter(by_language.values()))
    return prompts[variant.prompt]
