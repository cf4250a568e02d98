"""An LLM that reads a generated answer and names its emotion, the way the paper's evaluation read free text (it used
Qwen2.5-14B-Instruct with the prompt below); a local transformers model or an OpenAI-compatible endpoint."""

from ..processing import normalize_emotion, parse_emotion

# The paper's prompt (§V-B), then the answer to read.
JUDGE_PROMPT = (
    "Given the following text, determine its corresponding emotion and output only the single most appropriate "
    "emotion label. The possible labels are: anger, happiness, neutral, sadness, surprise, disgust, fear\n\n"
    "Text: {text}"
)
JUDGE_MAX_NEW_TOKENS = 16


class Judge:
    """`judge(texts) -> canonical emotion or None per text`. `value` is a model folder or Hub id, or the base URL of
    an OpenAI-compatible server (http://…/v1), which `model` names the served model for."""

    def __init__(self, value: str, model: str = "default", api_key: str | None = None, device: str | None = None,
                 batch_size: int = 8):
        from ..cot.describers import EndpointDescriber, TransformersDescriber

        if value.startswith(("http://", "https://")):
            self.backend = EndpointDescriber(value, model=model, api_key=api_key, max_new_tokens=JUDGE_MAX_NEW_TOKENS)
        else:
            self.backend = TransformersDescriber(value, batch_size=batch_size, max_new_tokens=JUDGE_MAX_NEW_TOKENS,
                                                 device=device)

    @property
    def identity(self) -> dict:
        return {**self.backend.identity, "prompt": JUDGE_PROMPT}

    def __call__(self, texts: list[str]) -> list[str | None]:
        asked = [i for i, text in enumerate(texts) if text and text.strip()]
        answers = self.backend([JUDGE_PROMPT.format(text=texts[i]) for i in asked], attempt=0, seed=0) if asked else []
        labels = [None] * len(texts)
        for i, answer in zip(asked, answers):
            # a bare label is the expected answer; a sentence is read by the answer parser
            labels[i] = normalize_emotion(answer) or parse_emotion(answer)
        return labels
