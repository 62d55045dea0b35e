"""ikigai: a full-screen terminal client for large language models, with a headless mode.

The one top-level import name of an installed ikigai. Its subpackages are the
repository's top-level folders, linked here so that the source tree, the tests,
the type checker and an installed copy all see the same names:
``ikigai.providers`` (wire protocols), ``ikigai.storage`` (SQLite),
``ikigai.engine`` (the conversation), ``ikigai.tui`` (the Textual app) and
``ikigai.cli`` (the command line and headless runs).
"""

__version__ = "0.2.0"
