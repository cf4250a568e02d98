"""Which save formats a starting point allows, decided from its config alone so `train` refuses a run that could not
be saved before anything loads: a light save refers to the base language model by its id, which a start from a merged
checkpoint (or a `c2ser-hf new` model) does not have."""

NO_BASE_MODEL = ("a model fine-tuned from a merged checkpoint has no base language model for a light save to refer "
                 "to: use save_format merged (or start from a light checkpoint)")


def check_save_format(model: str, config: dict, save_format: str) -> None:
    """Refuse a light save of a run starting from `model`, whose config.json is `config`, when it names no base
    model."""
    if save_format == "light" and not config.get("base_model_name_or_path"):
        raise ValueError(f"{model}: {NO_BASE_MODEL}")
