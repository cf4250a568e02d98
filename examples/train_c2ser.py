"""Train C²SER with TRL, written the way TRL's example scripts are: three argument groups from a recipe and the
command line, a starting point, a chain-of-thought dataset (the output of `c2ser-hf build-cot`), the trainer.

Stage 1 from pretrained parts, then stage 2 from its result:

    python examples/train_c2ser.py --config stage1_explicit --whisper openai/whisper-medium \
        --emotion2vec emotion2vec_s --language_model Qwen/Qwen2-7B --dataset_name corpus_cot --output_dir runs/stage1
    python examples/train_c2ser.py --config stage2_implicit --model_name_or_path runs/stage1/model \
        --dataset_name corpus_cot --output_dir runs/stage2

Any field of the recipe or of TRL's SFTConfig can follow as `--field value`. `c2ser-hf train` does the same, and
also resumes a killed run from its last checkpoint.
"""

from c2ser_hf.training import C2SERTrainer, CoTCollator, load_starting_point, load_training_data, parse_recipe

if __name__ == "__main__":
    data_args, training_args, model_args = parse_recipe()
    start = load_starting_point(model_args, training_args)
    train_dataset, _ = load_training_data(data_args, training_args.world_size, training_args.dataloader_num_workers)
    collator = CoTCollator(start.processor, data_args.audio_column, data_args.explicit_column,
                           data_args.implicit_column, audio_feature=train_dataset.features[data_args.audio_column])
    trainer = C2SERTrainer(start, training_args, train_dataset=train_dataset, data_collator=collator,
                           dataset_description=data_args.dataset_name)
    trainer.train()
    trainer.save_model()  # OUTPUT_DIR/model: light by default, --save_format merged for one self-contained model
