"""c2ser-hf: C2SER speech emotion recognition for the Hugging Face ecosystem.

Importing this package registers its models with the transformers Auto classes (when transformers imports them: see
`registration`), and marks them so that `save_pretrained` writes `auto_map` and copies the Hub files (loading then
works with `trust_remote_code=True` where this package is not installed). Nothing heavy is imported here: the public
classes load on first use.
"""

from .lazy_exports import lazy_exports
from .registration import install as _install_registration

__version__ = "0.1.0"
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    ".modeling": ("C2SERConfig", "C2SERModel", "C2SERForConditionalGeneration", "Emotion2VecSConfig",
                  "Emotion2VecSModel", "Emotion2VecSForSequenceClassification", "Emotion2VecSForPreTraining"),
    ".processing": ("C2SERProcessor", "Emotion2VecSFeatureExtractor"),
})

_install_registration()
