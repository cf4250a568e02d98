"""C²SER Space: hear a clip, see the emotion, its probabilities and the measured evidence.

Settings (environment variables, e.g. Space variables):
  C2SER_MODEL   model folder or Hub id; "official" (default) converts the released checkpoint once and caches it
  C2SER_STATS   statistics file for the Low/Medium/High levels (default: the model's acoustic_stats.json, else
                reference values for adult speech)
  C2SER_DEVICE  cuda or cpu (default: cuda when there is a GPU)
Gradio's own GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose where it listens.
"""

import os
import sys
from pathlib import Path

from c2ser_hf.demo import Analyzer, write_examples
from c2ser_hf.demo.page import build_demo

MODEL = os.environ.get("C2SER_MODEL", "official")
MAX_FILE_SIZE = "20mb"  # two minutes of 44.1 kHz stereo WAV, the Space's audio limit, fit with room to spare

try:
    examples = write_examples(Path(__file__).resolve().parent / "examples")
except OSError as error:  # no espeak-ng, or a read-only folder
    print(f"no example clips: {error}", file=sys.stderr)
    examples = None
try:
    analyzer = Analyzer.from_pretrained(MODEL, os.environ.get("C2SER_DEVICE"), stats=os.environ.get("C2SER_STATS"))
except ValueError as error:  # a model or statistics file that cannot be used: one line, not a traceback
    sys.exit(f"C2SER Space: {error}")
analyzer.warm_up()
demo = build_demo(analyzer, MODEL, examples)

if __name__ == "__main__":
    demo.launch(max_file_size=MAX_FILE_SIZE)
