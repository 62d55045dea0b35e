"""Widgets of the ikigai app, one module each (import them from their modules).

This package imports nothing itself, so loading one widget does not pull in
the others (the Markdown renderer in particular) before it is needed.
"""
