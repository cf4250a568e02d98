"""Emotion2Vec-S pretraining as one call: model and data from the recipe, the Trainer, resume, the final folder."""

import logging
import os
from pathlib import Path

from .arguments import Emotion2VecPretrainingArguments

logger = logging.getLogger(__name__)


def load_pretraining_model(args: Emotion2VecPretrainingArguments, seed: int = 42):  # TrainingArguments' default
    """(Emotion2VecSForPreTraining, its feature extractor): from `args.model` with `config_overrides` applied, or new
    from `model_config`. Every weight created new (a whole new model, or a decoder a converted folder lacks) is drawn
    from `seed`, the run's seed: two runs of one recipe start from the same weights. The caller's random state is left
    as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _load_pretraining_model(args)


def _load_pretraining_model(args: Emotion2VecPretrainingArguments):
    from ..model_loading import resolve_model
    from ..modeling import Emotion2VecSConfig, Emotion2VecSForPreTraining
    from ..processing import Emotion2VecSFeatureExtractor

    if args.model is not None:
        if args.model_config:
            raise ValueError("give either model (a folder or Hub id) or model_config (a new model), not both")
        resolved = resolve_model(args.model, "emotion2vec_s", "pretraining needs an Emotion2Vec-S / emotion2vec model")
        hub = resolved.hub_kwargs(None, None, None)
        try:
            model = Emotion2VecSForPreTraining.from_pretrained(resolved.target, **hub, **args.config_overrides)
            extractor = Emotion2VecSFeatureExtractor.from_pretrained(resolved.target, **hub)
        except (OSError, TypeError) as error:
            raise ValueError(f"{args.model}: cannot be loaded: {' '.join(str(error).split())[:300]}") from None
    else:
        config = Emotion2VecSConfig(**{**(args.model_config or {}), **args.config_overrides})
        model = Emotion2VecSForPreTraining(config)
        extractor = Emotion2VecSFeatureExtractor(do_normalize=True, min_samples=config.receptive_field)
    if args.normalize_waveform is not None:
        extractor.do_normalize = args.normalize_waveform
    return model, extractor


def pretrain(args: Emotion2VecPretrainingArguments, training_args) -> Path:
    """Train, resuming from the last checkpoint in `output_dir` when there is one; save the model (student, decoder
    and teacher: `AutoModel` loads the encoder from it) and its feature extractor to `output_dir`. Returns it."""
    from transformers.integrations import is_deepspeed_zero3_enabled
    from transformers.trainer_utils import get_last_checkpoint

    from ..skipped_rows import SkippedRowsLog
    from ..training_folder import training_folder
    from .data import PretrainingCollator, load_pretraining_dataset
    from .ema import EMATeacherCallback
    from .run_checks import FINAL_FILES, check_pretraining_run, pretraining_run
    from .trainer import Emotion2VecPretrainer

    if is_deepspeed_zero3_enabled():
        raise ValueError("DeepSpeed ZeRO-3 is not supported (the EMA teacher update needs whole parameters); "
                         "use ZeRO-2, which shards the optimizer state and gradients")
    inputs = check_pretraining_run(args, training_args)  # before any model loads or clip is read
    # the collator reads the `audio` column, which the model's forward does not take
    training_args.remove_unused_columns = False
    output_dir = Path(training_args.output_dir)
    with training_folder(output_dir, pretraining_run(args, training_args), FINAL_FILES, args.overwrite_output_dir,
                         inputs, main_process=training_args.process_index == 0) as recorder:
        skipped = []
        dataset = load_pretraining_dataset(args.datasets, streaming=args.streaming, seed=training_args.seed,
                                           max_bad_fraction=args.max_bad_fraction, skipped=skipped)
        model, extractor = load_pretraining_model(args, training_args.seed)
        if training_args.deepspeed and model.config.layerdrop > 0:
            raise ValueError("with DeepSpeed, set config_overrides: {layerdrop: 0}: LayerDrop makes the ranks skip "
                             "different blocks, which DeepSpeed's gradient reduction cannot take")
        trainer = Emotion2VecPretrainer(
            model=model,
            args=training_args,
            train_dataset=dataset,
            data_collator=PretrainingCollator(extractor, args.max_seconds, seed=training_args.seed, dither=args.dither),
            callbacks=[EMATeacherCallback(args.ema_decay, args.ema_end_decay, args.ema_anneal_end_step),
                       *([recorder] if recorder else [])],
            on_nonfinite=args.on_nonfinite,
        )
        SkippedRowsLog(skipped).add_to(trainer)
        resume = training_args.resume_from_checkpoint
        if resume is None and output_dir.is_dir():
            resume = get_last_checkpoint(str(output_dir))
            if resume:
                logger.info("resuming from %s", resume)
        trainer.train(resume_from_checkpoint=resume)
        before = set(os.listdir(output_dir))
        trainer.save_model(str(output_dir))
        if trainer.is_world_process_zero():
            extractor.save_pretrained(output_dir)
        if recorder:
            recorder.record(*FINAL_FILES, *(set(os.listdir(output_dir)) - before))
    return output_dir
