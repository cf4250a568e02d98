"""Errors that an option fixes, worded for whoever called: a Python keyword (`overwrite=True`) in the exception's
message, the command-line flag (`--overwrite`) in what the CLI prints."""


def option_error(error_class: type[Exception], template: str, python: str, cli: str) -> Exception:
    """`error_class` whose message is `template` with `{option}` as `python`; `.cli_message` has it as `cli`."""
    error = error_class(template.format(option=python))
    error.cli_message = template.format(option=cli)
    return error


def output_exists(path) -> FileExistsError:
    return option_error(FileExistsError, f"{path}: output folder already exists ({{option}} replaces it)",
                        "overwrite=True", "--overwrite")
