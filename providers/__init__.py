"""Wire protocols of the model providers, normalized into one stream of events.

Importing this package keeps httpx from loading its command-line client:
httpx's ``__init__`` imports ``httpx._main`` (Rich's console, ``click``:
about 60 ms, a tenth of a headless run) whenever those libraries are
installed, and Textual installs Rich. ikigai never runs that client; a
``None`` entry in ``sys.modules`` makes the import fail, and httpx then
defines its own stand-in, as when the libraries are missing.
"""

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
