"""The application: CLI, settings, turn runner, tools and the Textual app."""
