"""The command-line front end: argument parsing, headless runs (-p), history and export."""
