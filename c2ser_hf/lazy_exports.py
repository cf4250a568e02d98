"""Package attributes imported on first use (PEP 562), so that importing a package costs nothing until a class is
needed: `c2ser-hf --help` and `import c2ser_hf` stay free of torch and transformers."""

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """`__getattr__` and `__dir__` for `package` whose attribute `name` lives in module `exports[name]` (relative)."""
    namespace = {}

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name], package), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(exports) | set(namespace))

    return __getattr__, __dir__
