"""Registration of our classes with the transformers Auto classes and of our pipeline task, done when transformers
imports the module that holds each registry, not before.

Importing the Auto registries costs 2–5 s (torch, `modeling_utils`, `processing_utils`, every pipeline); importing
`c2ser_hf` must not pay that, nor must `c2ser-hf --help`. So `install()` puts a finder on `sys.meta_path` that runs
each registration right after its registry module finishes importing (or at once if it already has). A registration
that needs one of our own modules while that module is still initialising (ours import the Auto classes too) waits
until it has finished.
"""

import importlib
import importlib.abc
import sys

PIPELINE_TASK = "speech-emotion-recognition"
_OURS = ("c2ser_hf.",)


def _configs(registry) -> None:
    from .modeling.configuration_c2ser import C2SERConfig
    from .modeling.configuration_emotion2vec_s import Emotion2VecSConfig

    for config in (Emotion2VecSConfig, C2SERConfig):
        registry.AutoConfig.register(config.model_type, config, exist_ok=True)
        config.register_for_auto_class("AutoConfig")


def _models(registry) -> None:
    from .modeling.configuration_c2ser import C2SERConfig
    from .modeling.configuration_emotion2vec_s import Emotion2VecSConfig
    from .modeling.modeling_c2ser import C2SERForConditionalGeneration, C2SERModel
    from .modeling.modeling_emotion2vec_s import Emotion2VecSForSequenceClassification, Emotion2VecSModel

    for auto, config, model in (
        ("AutoModel", Emotion2VecSConfig, Emotion2VecSModel),
        ("AutoModelForAudioClassification", Emotion2VecSConfig, Emotion2VecSForSequenceClassification),
        ("AutoModel", C2SERConfig, C2SERModel),
        ("AutoModelForMultimodalLM", C2SERConfig, C2SERForConditionalGeneration),
    ):
        getattr(registry, auto).register(config, model, exist_ok=True)
        model.register_for_auto_class(auto)


def _feature_extractors(registry) -> None:
    from .modeling.configuration_emotion2vec_s import Emotion2VecSConfig
    from .processing.feature_extraction_emotion2vec_s import Emotion2VecSFeatureExtractor

    registry.AutoFeatureExtractor.register(Emotion2VecSConfig, Emotion2VecSFeatureExtractor, exist_ok=True)
    Emotion2VecSFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")


def _processors(registry) -> None:
    from .modeling.configuration_c2ser import C2SERConfig
    from .processing.processing_c2ser import C2SERProcessor

    registry.AutoProcessor.register(C2SERConfig, C2SERProcessor, exist_ok=True)
    C2SERProcessor.register_for_auto_class("AutoProcessor")


def _pipeline(registry) -> None:
    from transformers import AutoModelForMultimodalLM

    from .pipeline import SpeechEmotionRecognitionPipeline

    if PIPELINE_TASK not in registry.PIPELINE_REGISTRY.supported_tasks:
        registry.PIPELINE_REGISTRY.register_pipeline(
            PIPELINE_TASK, pipeline_class=SpeechEmotionRecognitionPipeline, pt_model=AutoModelForMultimodalLM,
            type="multimodal",
        )


REGISTRATIONS = {
    "transformers.models.auto.configuration_auto": _configs,
    "transformers.models.auto.modeling_auto": _models,
    "transformers.models.auto.feature_extraction_auto": _feature_extractors,
    "transformers.models.auto.processing_auto": _processors,
    "transformers.pipelines": _pipeline,
}


def _initialising(name: str) -> bool:
    module = sys.modules.get(name)
    return module is not None and bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _ours_initialising(finished: str | None) -> bool:
    return any(name.startswith(_OURS) and name != finished and _initialising(name) for name in list(sys.modules))


class _AfterImport(importlib.abc.MetaPathFinder):
    """Wraps the loaders of the registry modules (and of our own modules, to run what had to wait for them)."""

    def __init__(self):
        self.pending = [name for name in REGISTRATIONS]
        self.running = False

    def find_spec(self, name, path, target=None):
        if name not in self.pending and not (self.pending and name.startswith(_OURS)):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module):
            original(module)
            self.flush(finished=name)

        # a per-spec loader copy keeps other modules of the same loader class untouched
        spec.loader = _LoaderProxy(loader, exec_module)
        return spec

    def flush(self, finished: str | None = None) -> None:
        """Run every registration whose registry module is imported, unless one of our modules is mid-import.
        `finished`: the module whose loader calls this, done executing but still marked as initialising."""
        if self.running or _ours_initialising(finished):
            return
        self.running = True
        try:
            # a registration imports modules, which may complete other registries: repeat until none is ready
            ready = True
            while ready:
                ready = [n for n in self.pending if n in sys.modules and (n == finished or not _initialising(n))]
                for name in ready:
                    self.pending.remove(name)
                    REGISTRATIONS[name](sys.modules[name])
        finally:
            self.running = False


class _LoaderProxy:
    def __init__(self, loader, exec_module):
        self._loader, self.exec_module = loader, exec_module

    def __getattr__(self, name):
        return getattr(self._loader, name)


_finder = None


def install() -> None:
    """Register now what is already imported; the rest when transformers imports it."""
    global _finder
    if _finder is None:
        _finder = _AfterImport()
        sys.meta_path.insert(0, _finder)
    _finder.flush()


def register_auto_classes() -> None:
    """Register everything now (importing the registries), e.g. before pickling a model for another process."""
    install()
    for name in REGISTRATIONS:
        importlib.import_module(name)
    _finder.flush()
