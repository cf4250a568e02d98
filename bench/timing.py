"""Timing shared by the benchmarks: the candidates run in alternating rounds, each time is a median."""

import statistics
import time


def timed(functions: dict, repeats: int, sync=lambda: None) -> tuple[dict, dict]:
    """(median seconds, warm-up result) per function; rounds alternate between the functions so that drift in machine
    speed affects all of them alike."""
    results = {name: function() for name, function in functions.items()}
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            sync()
            start = time.perf_counter()
            function()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}, results
