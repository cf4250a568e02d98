"""The docs the code cites live in the repository: every cited `docs/….md#anchor` exists, every test the docs name
exists, and nothing cites notes that a clone does not have."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".cfg", ".txt", ".toml", ".sh", ".yaml", ".yml", ".json", ""}
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", "build", "dist"}
# Names of the project's private notes, which live outside the repository (bracketed so this file does not match)
OUTSIDE_NOTES = re.compile(r"UPSTREA[M]|DESIG[N]|share[d]/")
CITATION = re.compile(r"docs/([\w-]+\.md)(?:#([\w-]+))?")


def repository_files():
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES:
            yield relative, path.read_text(encoding="utf-8", errors="replace")


def anchors(markdown: str) -> set[str]:
    """Explicit `<a id="…">` anchors and the slugs GitHub gives headings."""
    explicit = set(re.findall(r'<a id="([\w-]+)"', markdown))
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.M)
    slugs = {re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings}
    return explicit | slugs


def test_every_cited_docs_anchor_exists():
    docs = {path.name: anchors(path.read_text(encoding="utf-8")) for path in (ROOT / "docs").glob("*.md")}
    assert {"fidelity.md", "architecture.md"} <= set(docs)
    cited, missing = 0, []
    for relative, text in repository_files():
        for document, anchor in CITATION.findall(text):
            cited += 1
            if document not in docs or (anchor and anchor not in docs[document]):
                missing.append(f"{relative}: docs/{document}#{anchor}")
        if relative.parts[0] == "docs":  # links between and within the docs pages
            for document, anchor in re.findall(r"\]\(([\w-]+\.md)?#([\w-]+)\)", text):
                if anchor not in docs[document or relative.name]:
                    missing.append(f"{relative}: {document}#{anchor}")
    assert cited > 50 and not missing, missing


def test_the_tests_the_docs_name_exist():
    named, missing = 0, []
    for path in (ROOT / "docs").glob("*.md"):
        current = None
        for file, name in re.findall(r"(tests/[\w/]+\.py)?::(test_\w+)", path.read_text(encoding="utf-8")):
            current = file or current
            named += 1
            if not re.search(rf"^def {name}\(", (ROOT / current).read_text(encoding="utf-8"), flags=re.M):
                missing.append(f"{path.name}: {current}::{name}")
        for file in re.findall(r"`(tests/[\w/]+\.py)`", path.read_text(encoding="utf-8")):
            if not (ROOT / file).is_file():
                missing.append(f"{path.name}: {file}")
    assert named > 20 and not missing, missing


def test_nothing_cites_notes_outside_the_repository():
    found = [f"{relative}:{text[: match.start()].count(chr(10)) + 1}: {match[0]}"
             for relative, text in repository_files() for match in OUTSIDE_NOTES.finditer(text)]
    assert not found, found
