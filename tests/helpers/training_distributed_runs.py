"""Multi-process training runs for tests/test_training_distributed.py, launched once with `torchrun --nproc_per_node 2`
(gloo, CPU): the 40-step stage-2 schedule run (DDP, 2 dataloader workers, accumulation 2), DeepSpeed ZeRO-2 and
ZeRO-3 runs configured from the shipped accelerate files, and FSDP2 sharding (torch's `fully_shard`) of the units the
shipped FSDP file names. Each writes per-rank JSON and the logits of its trained model under OUT.

    torchrun --nproc_per_node 2 training_distributed_runs.py OUT DATASET PARTS_JSON STREAMED_DATASET

STREAMED_DATASET holds the same rows in parquet row groups: streamed, each rank reads its own shards.
"""

import copy
import json
import os
import sys
from pathlib import Path

import datasets
import torch
import torch.distributed as dist
import yaml
from accelerate.utils import DeepSpeedPlugin

from c2ser_hf.training import (C2SERTrainer, CoTCollator, load_starting_point, load_training_data, parse_recipe,
                               select_variant)
from c2ser_hf.training.recipes import launch_config

OUT, DATASET, STREAMED = Path(sys.argv[1]), sys.argv[2], sys.argv[4]
PARTS = json.loads(Path(sys.argv[3]).read_text())
RANK = int(os.environ["RANK"])
COMMON = ["--config", "stage2_implicit", "--dataset_name", DATASET,
          *[x for k, v in PARTS.items() for x in (f"--{k}", v)],
          "--use_cpu", "true", "--bf16", "false", "--dtype", "float32", "--gradient_checkpointing", "false",
          "--disable_tqdm", "true", "--save_strategy", "no", "--logging_steps", "1",
          "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "2"]


def write(name, value):
    (OUT / f"{name}-rank{RANK}.json").write_text(json.dumps(value))


def probe_batch(processor):
    """Two fixed rows, implicit variant: the input every trained model is compared on."""
    rows = datasets.load_dataset(DATASET, split="train")
    return select_variant(CoTCollator(processor)([rows[0], rows[9]]), explicit=False)


def train(name, *extra):
    data_args, training_args, model_args = parse_recipe([*COMMON, "--output_dir", str(OUT / name), *extra])
    start = load_starting_point(model_args, training_args)
    train_rows, _ = load_training_data(data_args, training_args.world_size, training_args.dataloader_num_workers)
    trainer = C2SERTrainer(start, training_args, train_dataset=train_rows, dataset_description="cot")
    trainer.train()
    model = trainer.model.eval()
    local = sum(p.ds_tensor.numel() if hasattr(p, "ds_tensor") else p.numel() for p in model.parameters())
    total = sum(p.ds_numel if hasattr(p, "ds_numel") else p.numel() for p in model.parameters())
    with torch.no_grad():
        logits = model(**probe_batch(start.processor)).logits
    torch.save(logits, OUT / f"{name}-logits-rank{RANK}.pt")
    trainer.save_model()
    write(name, {"choices": trainer.cot_choices, "log": trainer.state.log_history, "local": local, "total": total})


def fsdp2():
    """Both ranks train the same batch 3 steps with their units sharded by `fully_shard`; rank 0 also trains an
    unsharded copy: with the gradients averaged over identical batches, the two must agree."""
    from torch.distributed.fsdp import fully_shard

    _, _, model_args = parse_recipe(COMMON)
    start = load_starting_point(model_args)
    model = start.model.eval()  # no dropout: both processes compute the same function
    reference = copy.deepcopy(model)
    initial = {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
    units = yaml.safe_load(Path(launch_config("fsdp.yaml")).read_text())["fsdp_config"]
    names = set(units["fsdp_transformer_layer_cls_to_wrap"].split(","))
    sharded = [m for m in model.modules() if type(m).__name__ in names]
    for module in sharded:
        fully_shard(module)
    fully_shard(model)
    batch = probe_batch(start.processor)
    for net in (model, reference) if RANK == 0 else (model,):
        optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
        for _ in range(3):
            net(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    full = {name: (p.full_tensor() if hasattr(p, "full_tensor") else p) for name, p in model.named_parameters()}
    local = sum(p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in model.parameters())
    result = {"units": len(sharded), "local": local, "total": sum(p.numel() for p in full.values()),
              "moved": max((full[n].detach() - p).abs().max().item() for n, p in initial.items())}
    if RANK == 0:
        expected = dict(reference.named_parameters())
        result["max_diff"] = max((full[n].detach() - expected[n].detach()).abs().max().item() for n in full)
    write("fsdp2", result)


def deepspeed_settings(config_name, **extra):
    """The DeepSpeed configuration accelerate makes of a shipped accelerate file, as the JSON `--deepspeed` takes."""
    settings = yaml.safe_load(Path(launch_config(config_name)).read_text())["deepspeed_config"]
    config = DeepSpeedPlugin(**settings).deepspeed_config
    config["zero_optimization"].update(extra)
    return json.dumps(config)


if __name__ == "__main__":
    train("schedule", "--max_steps", "40", "--per_device_train_batch_size", "1", "--dataloader_num_workers", "2",
          "--dataloader_persistent_workers", "true")
    train("streamed", "--max_steps", "2", "--dataset_name", STREAMED, "--dataset_streaming", "true",
          "--dataloader_num_workers", "1")
    train("zero2", "--max_steps", "3", "--deepspeed", deepspeed_settings("deepspeed_zero2.yaml"))
    # the tiny model's tensors are all below ZeRO-3's default persistence threshold (1e5 elements), which would keep
    # them unsharded; at the released size nearly every weight is above it
    train("zero3", "--max_steps", "3",
          "--deepspeed", deepspeed_settings("deepspeed_zero3.yaml", stage3_param_persistence_threshold=0))
    fsdp2()
    dist.barrier()
