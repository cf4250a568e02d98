"""Candidate answers whose likelihoods give C2SER's emotion probabilities (docs/fidelity.md#emotion-scores)."""

from .emotion_parsing import EMOTIONS, emotion_wordings

# Data, not code: the implicit-CoT answer templates of both languages. Only the released model's Chinese answer is
# documented (with its doubled 的, docs/fidelity.md#emotion-scores); the English wording follows the training
# targets we build.
ANSWER_TEMPLATES = {
    "en": ("The emotion of this speech is {}.",),
    "zh": ("这条语音的情感为{}", "这条语音的的情感为{}"),
}

# None: both
ANSWER_LANGUAGES = (None, *ANSWER_TEMPLATES)


def answer_candidates(tokenizer, end_token_id: int, templates: dict = ANSWER_TEMPLATES, language: str | None = None):
    """(emotion index in EMOTIONS per candidate, token ids per candidate): every wording of every emotion in each
    template of its language, followed by the end-of-text token so that an answer must stop there. `language` ("en"
    or "zh") keeps that language's templates and wordings only; None keeps both."""
    if language is not None and language not in templates:
        raise ValueError(f"answer language {language!r} is not one of {tuple(templates)} or None")
    chosen = {key: forms for key, forms in templates.items() if language in (None, key)}
    emotions, candidates = [], []
    for index, emotion in enumerate(EMOTIONS):
        for template_language, forms in chosen.items():
            for wording in emotion_wordings(emotion, template_language):
                for form in forms:
                    emotions.append(index)
                    candidates.append(tokenizer(form.format(wording), add_special_tokens=False)["input_ids"] + [end_token_id])
    return emotions, candidates
