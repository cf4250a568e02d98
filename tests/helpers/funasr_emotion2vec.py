"""The reference: FunASR's own emotion2vec model with random weights, saved in the FunASR and fairseq layouts."""

import copy

import numpy as np
import torch

BASE_AUDIO_CONF = {
    "type": "AUDIO",
    "prenet_depth": 4,
    "prenet_layerdrop": 0.05,
    "prenet_dropout": 0.1,
    "start_drop_path_rate": 0.0,
    "end_drop_path_rate": 0.0,
    "num_extra_tokens": 10,
    "init_extra_token_zero": True,
    "mask_noise_std": 0.01,
    "mask_prob": 0.5,
    "mask_length": 5,
    "local_grad_mult": 1.0,
    "use_alibi_encoder": True,
    "alibi_scale": 1.0,
    "learned_alibi": False,
    "alibi_max_pos": None,
    "learned_alibi_scale": True,
    "learned_alibi_scale_per_head": True,
    "learned_alibi_scale_per_layer": False,
    "num_alibi_heads": 12,
    "model_depth": 8,
    "decoder": None,
    "extractor_mode": "layer_norm",
    "feature_encoder_spec": "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]",
    "conv_pos_width": 95,
    "conv_pos_groups": 16,
    "conv_pos_depth": 5,
    "conv_pos_pre_ln": False,
}
# emotion2vec_base (data2vec 2.0 base audio) model_conf, the fields FunASR's Emotion2vec reads
BASE_MODEL_CONF = {
    "depth": 8,
    "start_drop_path_rate": 0.0,
    "end_drop_path_rate": 0.0,
    "num_heads": 12,
    "norm_eps": 1e-05,
    "norm_affine": True,
    "encoder_dropout": 0.1,
    "post_mlp_drop": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "dropout_input": 0.0,
    "layerdrop": 0.05,
    "embed_dim": 768,
    "mlp_ratio": 4.0,
    "layer_norm_first": False,
    "end_of_block_targets": False,
    "clone_batch": 8,
    "normalize": True,
    "modalities": {"audio": BASE_AUDIO_CONF},
}


def tiny_conf(embed_dim=64, heads=4, depth=2, prenet=1, extra=10):
    """The same model family at test size (CNN width 32, positional conv k5 × 2 layers, 4 groups)."""
    conf = copy.deepcopy(BASE_MODEL_CONF)
    conf.update(depth=depth, num_heads=heads, embed_dim=embed_dim)
    audio = conf["modalities"]["audio"]
    audio.update(
        prenet_depth=prenet,
        model_depth=depth,
        num_alibi_heads=heads,
        num_extra_tokens=extra,
        feature_encoder_spec="[(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32,2,2)] + [(32,2,2)]",
        conv_pos_width=10,
        conv_pos_depth=2,
        conv_pos_groups=4,
    )
    return conf


def build_funasr_model(conf: dict, vocab_size: int = -1, seed: int = 0, decoder: bool = False) -> torch.nn.Module:
    """FunASR Emotion2vec with every parameter randomised (norm gains, ALiBi scales with one negative head, tokens)."""
    from funasr.models.emotion2vec.model import Emotion2vec

    conf = copy.deepcopy(conf)
    if decoder:
        conf["modalities"]["audio"]["decoder"] = {
            "decoder_dim": 48,
            "decoder_groups": 4,
            "decoder_kernel": 7,
            "decoder_layers": 2,
            "input_dropout": 0.1,
            "add_positions_masked": False,
            "add_positions_all": False,
            "decoder_residual": True,
            "projection_layers": 1,
            "projection_ratio": 2.0,
        }
    torch.manual_seed(seed)
    model = Emotion2vec(model_conf=conf, vocab_size=vocab_size)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("alibi_scale"):
                param.copy_(torch.rand(param.shape, generator=generator) * 1.5 + 0.2)
                param.view(-1)[1] = -0.3  # a negative learned scale: must be clamped to 0
            elif param.dim() == 1 or name.endswith("extra_tokens"):
                param.add_(0.1 * torch.randn(param.shape, generator=generator))
    return model.eval()


def funasr_frame_features(model, waveform: np.ndarray) -> np.ndarray:
    """What FunASR's inference computes for one clip (without its optional waveform norm)."""
    with torch.no_grad():
        source = torch.from_numpy(waveform).float().view(1, -1)
        return model.extract_features(source, padding_mask=None)["x"][0].numpy()


def save_funasr(model, path, wrap: str | None = None) -> None:
    state = model.state_dict()
    torch.save(state if wrap is None else {wrap: state}, path)


def save_fairseq(model, conf: dict, path) -> None:
    """The layout of fairseq's `checkpoint_utils.save_state`, metadata included (numpy scalars in metrics)."""
    torch.save(
        {
            "args": None,
            "cfg": {"_name": None, "model": {"_name": "data2vec_multi", **conf}, "task": {"normalize": True}},
            "model": model.state_dict(),
            "criterion": None,
            "optimizer_history": [{"criterion_name": "ModelCriterion", "optimizer_name": "FairseqAdam", "num_updates": 10}],
            "task_state": {},
            "extra_state": {"metrics": {"train": [[0, "loss", "AverageMeter", {"val": np.float64(1.5)}]]}},
        },
        path,
    )
