"""`build-cot` against broken OpenAI-compatible servers on loopback: one that accepts and never answers, one that
trickles its answer, HTTP 500, a body that is not JSON, an empty `choices`, a refused port. Every request ends by its
deadline (times the attempts); the row keeps its template with the reason, the report counts it; an endpoint that
fails every one of the first requests aborts the build, named."""

import json
import time

import datasets
import pytest

from c2ser_hf.cli import main
from c2ser_hf.cot import EndpointDescriber, build_cot
from c2ser_hf.cot.describers import EndpointDown, RequestFailed
from audio_fixtures import speech
from llm_endpoint_standin import Fault, LLMEndpointStandIn, refused_url

FAULTS = {"hang": "no complete answer within 0.5 s", "trickle": "no complete answer within 0.5 s",
          "http 500": "answered HTTP 500", "garbage": "answered something that is not JSON",
          "no choices": "answered without choices[0].message.content"}
TEXTS = ["The hang is here.", "A trickle of words.", "Five hundred errors.", "Pure garbage output.",
         "There are no choices.", "The weather is lovely today.", "Please leave me alone.", "What a surprise this is."]
DEADLINE, RETRIES, BACKOFF = 0.5, 1, 0.05


def fault_of(prompt: str):
    for fault, text in zip(FAULTS, TEXTS):
        if text in prompt:
            return Fault(fault)
    return None


def faithful_or_faulty(prompt, temperature):
    """The template description the prompt gives as its example, or the scripted fault of its utterance."""
    fault = fault_of(prompt)
    if fault:
        return fault
    return prompt.split("Here is an example: '")[1].split("' Ensure")[0]


def describer(url, **kwargs):
    return EndpointDescriber(url, timeout=DEADLINE, request_retries=RETRIES, backoff=BACKOFF, **kwargs)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    rows = []
    for i, text in enumerate(TEXTS):
        speech(folder / f"{i}.wav", text, speed=220)
        rows.append({"audio": str(folder / f"{i}.wav"), "text": text, "emotion": "neutral", "id": f"utt{i}"})
    datasets.Dataset.from_list(rows).cast_column("audio", datasets.Audio()).save_to_disk(str(folder / "dataset"))
    return folder / "dataset"


def test_each_fault_ends_by_its_deadline_and_comes_back_as_the_reason():
    server = LLMEndpointStandIn(lambda prompt, temperature: Fault(prompt) if prompt in FAULTS else "fine")
    try:
        start = time.monotonic()
        outputs = describer(server.url)([*FAULTS, "good"], 0, 0)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    print(f"five faults and one answer, concurrently: {elapsed:.2f} s (deadline {DEADLINE} s x {RETRIES + 1} attempts)")
    assert elapsed < DEADLINE * (RETRIES + 1) + BACKOFF + 0.5
    assert outputs[-1] == "fine"
    for (fault, reason), output in zip(FAULTS.items(), outputs):
        assert isinstance(output, RequestFailed) and f"LLM endpoint {server.url}/chat/completions {reason}" in str(output)
    assert len(server.requests) == len(FAULTS) * (RETRIES + 1) + 1


def test_failed_rows_keep_their_templates_with_reasons_and_are_counted(corpus, tmp_path):
    server = LLMEndpointStandIn(faithful_or_faulty)
    try:
        start = time.monotonic()
        report = build_cot(str(corpus), tmp_path / "out", describer=describer(server.url), retries=1, progress=False)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    print(f"build with five broken rows: {elapsed:.1f} s")
    loaded = datasets.load_dataset(str(tmp_path / "out"))["train"]
    assert loaded["description_source"] == ["template"] * 5 + ["llm"] * 3
    for problems, reason in zip(loaded["description_problems"], FAULTS.values()):
        assert problems.startswith("no LLM answer: LLM endpoint http://127.0.0.1:") and reason in problems
    assert report.unanswered == 5 and dict(report.descriptions) == {"template": 5, "llm": 3}
    assert json.loads((tmp_path / "out" / "build_report.json").read_text())["unanswered"] == 5
    assert "the LLM gave no answer for 5 of the template rows" in (tmp_path / "out" / "README.md").read_text()


def test_an_endpoint_down_from_the_start_aborts_the_build_naming_it(corpus, tmp_path, capsys):
    url = refused_url()
    status = main(["build-cot", "--dataset", str(corpus), "--out", str(tmp_path / "out"), "--llm-endpoint", url,
                   "--llm-timeout", "2"])
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bars, one line
    assert status == 2 and err.startswith(f"c2ser-hf build-cot: error: LLM endpoint {url}/chat/completions failed "
                                          "each of the first 8 requests (it looks down); last error: cannot be "
                                          "reached (ConnectionRefusedError")
    assert not (tmp_path / "out").exists()

    server = LLMEndpointStandIn(lambda prompt, temperature: Fault("http 500"))
    try:
        with pytest.raises(EndpointDown, match="failed each of the first 4 requests .* last error: answered HTTP 500"):
            build_cot(str(corpus), tmp_path / "again", describer=describer(server.url, down_after=4), progress=False)
    finally:
        server.close()
