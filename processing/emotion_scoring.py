"""Candidate answers whose likelihoods give C2SER's emotion probabilities (docs/fidelity.md#emotion-scores)."""

from .emotion_parsing import EMOTIONS, emotion_wordings

# Data, not code: the implicit-CoT answer templates of both languages. Only the released model's Chinese answer is
# documented (with its doubled 的, docs/fidelity.md#emotion-scores); the English wording follows the training
# targets we build.
ANSWER_TEMPLATES = {
    "en": ("The emotion of this speech is {}.",),
    "zh": ("这条语音的情感为{}", "这条语音的的情感为{}"),
}


def answer_candidates(tokenizer, end_token_id: int, templates: dict = ANSWER_TEMPLATES):
    """(emotion index in EMOTIONS per candidate, token ids per candidate): every wording of every emotion in each
    template of its language, followed by the end-of-text token so that an answer must stop there."""
    emotions, candidates = [], []
    for index, emotion in enumerate(EMOTIONS):
        for language, forms in templates.items():
            for wording in emotion_wordings(emotion, language):
                for form in forms:
                    emotions.append(index)
                    candidates.append(tokenizer(form.format(wording), add_special_tokens=False)["input_ids"] + [end_token_id])
    return emotions, candidates
