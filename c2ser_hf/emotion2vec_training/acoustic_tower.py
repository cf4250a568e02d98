"""Put a (pre)trained Emotion2Vec-S encoder into C2SER as its acoustic tower."""


def replace_acoustic_tower(c2ser_model, emotion2vec, processor=None) -> None:
    """Replace the acoustic tower of a C2SER model (`C2SERForConditionalGeneration` or `C2SERModel`) by
    `emotion2vec`: an `Emotion2VecSModel`, or a folder / Hub id it loads from (a pretraining folder too). The tower is
    frozen, as C2SER trains it. With `processor` (`C2SERProcessor`), its waveform normalisation is set to the one the
    encoder's feature extractor uses, so the tower sees audio as it was trained on it.

    Raises ValueError when the encoder does not fit: wider than the connector, or another number of acoustic tokens
    than the model and processor expect."""
    from ..modeling import Emotion2VecSModel
    from ..processing import Emotion2VecSFeatureExtractor

    extractor = None
    if not isinstance(emotion2vec, Emotion2VecSModel):
        extractor = Emotion2VecSFeatureExtractor.from_pretrained(emotion2vec)
        emotion2vec = Emotion2VecSModel.from_pretrained(emotion2vec)
    base = getattr(c2ser_model, "model", c2ser_model)
    config, encoder_config = base.config, emotion2vec.config
    if encoder_config.hidden_size > config.link_config.hidden_size:
        raise ValueError(
            f"the encoder's width {encoder_config.hidden_size} exceeds the connector's {config.link_config.hidden_size}"
        )
    if config.num_acoustic_tokens != (1 if config.acoustic_token_source == "mean" else encoder_config.num_extra_tokens):
        raise ValueError(
            f"the model takes {config.num_acoustic_tokens} acoustic tokens ({config.acoustic_token_source}); the encoder "
            f"gives {encoder_config.num_extra_tokens} learned tokens"
        )
    emotion2vec.requires_grad_(False)
    emotion2vec.to(next(base.acoustic_tower.parameters()).device)
    base.acoustic_tower = emotion2vec.eval()
    config.acoustic_config = encoder_config
    if c2ser_model is not base:
        c2ser_model.config.acoustic_config = encoder_config
    if processor is not None and extractor is not None:
        processor.normalize_waveform = extractor.do_normalize
