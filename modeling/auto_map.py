"""`auto_map` entries beyond the one class `register_for_auto_class` records."""


def map_auto_model_to(model, base_class) -> None:
    """Let a task-head checkpoint also load as its bare base model (`AutoModel`) under trust_remote_code, where
    only `auto_map` decides what loads. Only for classes registered for an auto class (our own saves)."""
    if model._auto_class is not None:
        auto_map = dict(getattr(model.config, "auto_map", None) or {})
        auto_map["AutoModel"] = f"{base_class.__module__.split('.')[-1]}.{base_class.__name__}"
        model.config.auto_map = auto_map
