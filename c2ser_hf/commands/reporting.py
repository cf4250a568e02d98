"""Printing per-file results the same way for every command that takes many files."""

import json
import sys


def report_per_file(results: list[dict], as_json: bool, line) -> int:
    """Print one result per input file (JSON, or `file: line(result)`), the failures again on stderr; exit status 1
    when any failed."""
    for result in results:
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        elif "error" in result:
            print(f"{result['file']}: error: {result['error']}")
        else:
            print(f"{result['file']}: {line(result)}")
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"failed: {result['error']}", file=sys.stderr)
    return 1 if failed else 0
