"""Model cards for C2SER folders: metadata, a usage snippet that runs, architecture, recipe, results, citation."""

import json
import os
from pathlib import Path

from .modeling import C2SERConfig

EVALUATION_FILE = "eval_results.json"  # {"dataset": {"metric": value, ...}, ...}, written by evaluation runs
CITATION = """@article{zhao2025c2ser,
  title   = {Steering Language Model to Stable Speech Emotion Recognition via Contextual Perception and Chain of Thought},
  author  = {Zhao, Zhixian and Zhu, Xinfu and Wang, Xinsheng and Wang, Shuiyuan and Geng, Xuelong and Tian, Wenjie and Xie, Lei},
  journal = {IEEE/ACM Transactions on Audio, Speech, and Language Processing},
  year    = {2025}
}"""


def usage_snippet(repo_id: str) -> str:
    return f'''import torch
from transformers import AutoModelForMultimodalLM, AutoProcessor

processor = AutoProcessor.from_pretrained("{repo_id}", trust_remote_code=True)
model = AutoModelForMultimodalLM.from_pretrained("{repo_id}", trust_remote_code=True).eval()
inputs = processor("speech.wav", mode="implicit")  # or "explicit" for the chain of thought
with torch.no_grad():
    answer = processor.post_process(model.generate(**inputs, num_beams=1, max_new_tokens=40))[0]
    scores = processor.label_scores(model.emotion_probabilities(*processor.emotion_candidates(), **inputs))[0]
print(answer["emotion"], answer["text"], scores)
'''


def _evaluation_table(folder: Path) -> str:
    path = folder / EVALUATION_FILE
    if not path.is_file():
        return "No evaluation results are stored with this model yet."
    results = json.loads(path.read_text(encoding="utf-8"))
    metrics = sorted({metric for values in results.values() for metric in values})
    rows = ["| dataset | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for dataset, values in results.items():
        rows.append(f"| {dataset} | " + " | ".join(_format(values.get(m)) for m in metrics) + " |")
    return "\n".join(rows)


def _format(value) -> str:
    return "—" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def model_card(folder: str | os.PathLike, repo_id: str) -> str:
    folder = Path(folder)
    config = C2SERConfig.from_pretrained(folder)
    audio, acoustic, text = config.audio_config, config.acoustic_config, config.text_config
    base = config.base_model_name_or_path
    weights = (f"a **light** checkpoint: only what C²SER trained plus a LoRA adapter; the frozen language model is "
               f"loaded from `{base}` and the adapter merged at load time" if base else
               "a self-contained checkpoint (LoRA merged into the language model)")
    header = ["---", "license: other", "library_name: transformers", "pipeline_tag: audio-text-to-text",
              "tags:", "- speech-emotion-recognition", "- audio", "- c2ser", "language:", "- en", "- zh"]
    if base:
        header.append(f"base_model: {base}")
    header.append("---")
    return "\n".join(header) + f"""

# C²SER ({repo_id})

C²SER recognises the emotion of speech with an audio-language model: a Whisper encoder for content, Emotion2Vec-S
for acoustics, a transformer connector, and a Qwen2 language model with LoRA, trained on explicit, then implicit,
chain-of-thought. This repository is {weights}. It loads with plain `transformers` (`trust_remote_code=True`) or
with the `c2ser-hf` package installed.

## Usage

```python
{usage_snippet(repo_id)}```

The answer names one of: anger, happiness, neutral, sadness, surprise, disgust, fear; `scores` gives all seven.

## Architecture

| part | configuration |
|---|---|
| Whisper encoder | {audio.encoder_layers} layers × {audio.d_model}, {audio.num_mel_bins} mel bins, variable length ≤ 30 s |
| Emotion2Vec-S | {acoustic.num_hidden_layers} layers × {acoustic.hidden_size}, {config.num_acoustic_tokens} acoustic tokens ({config.acoustic_token_source}) |
| connector | causal conv downsampler ×{config.downsample_rate}, {config.link_layers}-layer transformer ({config.link_hidden_size}, FFN {config.link_ffn_dim}), linear projection |
| language model | Qwen2, {text.num_hidden_layers} layers × {text.hidden_size}, vocabulary {text.vocab_size} |

## Training recipe

Stage 1 trains on explicit chain-of-thought descriptions (speaking rate, pitch and loudness levels, the transcript
and the emotion); stage 2 self-distils to short implicit answers. Whisper encoder, connector and LoRA (r 8, α 32,
dropout 0.1 on q/k/v/o/gate/down projections) are trained; Emotion2Vec-S and the base LLM are frozen. AdamW
(lr 5e-5, β 0.9/0.99, weight decay 0.01), warm-up over 15 % of the steps.

## Evaluation

{_evaluation_table(folder)}

## License and citation

Weights: the terms of the official C²SER release (`ASLP-lab/C2SER-LLM`, `ASLP-lab/Emotion2Vec-S`) and of the base
language model apply. The conversion code (`c2ser-hf`) is Apache-2.0.

```bibtex
{CITATION}
```
"""
