"""c2ser-hf: C2SER speech emotion recognition for the Hugging Face ecosystem.

Importing this package registers its models with the transformers Auto classes (when transformers imports them: see
`registration`), and marks them so that `save_pretrained` writes `auto_map` and copies the Hub files (loading then
works with `trust_remote_code=True` where this package is not installed). Nothing heavy is imported here: the public
classes load on first use.
"""

from .lazy_exports import lazy_exports
from .registration import install as _install_registration

__version__ = "0.1.0"
_EXPORTS = {
    "C2SERConfig": ".modeling.configuration_c2ser",
    "C2SERModel": ".modeling.modeling_c2ser",
    "C2SERForConditionalGeneration": ".modeling.modeling_c2ser",
    "C2SERProcessor": ".processing.processing_c2ser",
    "Emotion2VecSConfig": ".modeling.configuration_emotion2vec_s",
    "Emotion2VecSModel": ".modeling.modeling_emotion2vec_s",
    "Emotion2VecSForSequenceClassification": ".modeling.modeling_emotion2vec_s",
    "Emotion2VecSFeatureExtractor": ".processing.feature_extraction_emotion2vec_s",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

_install_registration()
