"""The ``ikigai`` command: the full-screen app, ``-p`` headless runs and subcommands.

Exit status: 0 on success; 1 when the provider or the network failed; 2 for
usage or configuration errors. Imports are deferred to the branch that needs
them so that ``ikigai -p`` starts quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

THINKING_CHOICES = ("min", "low", "med", "high")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ikigai",
        description="A terminal client for large language models. "
        "Without -p it opens the full-screen app.",
        epilog="Subcommands: 'ikigai history [ID [--all-branches]] [--search TEXT] [--limit N]', "
        "'ikigai export ID [--format md|json] [--all-branches] [-o FILE]', "
        "'ikigai models [PROVIDER] [--base-url URL] [--output text|json]'.",
    )
    parser.add_argument(
        "-p",
        "--prompt",
        help="run headless: answer PROMPT and exit; @path attaches a file; "
        "'/compact [instructions]' with -c summarizes the conversation instead",
    )
    parser.add_argument("--profile", help="profile from the config file")
    parser.add_argument("--model", help="model as [PROVIDER/]MODEL")
    parser.add_argument("--thinking", choices=THINKING_CHOICES, help="thinking level")
    parser.add_argument("--base-url", help="override the provider's base URL for this run")
    parser.add_argument(
        "--no-key",
        action="store_true",
        help="the provider needs no API key (a local server: Ollama, llama.cpp, vLLM)",
    )
    parser.add_argument(
        "--system", metavar="TEXT", help="the system prompt for this run (replaces the profile's)"
    )
    parser.add_argument(
        "--output", choices=("text", "jsonl"), default="text", help="headless output format"
    )
    parser.add_argument(
        "--max-turns", type=_positive_int, help="stop after N model responses (default 50)"
    )
    parser.add_argument("--db", help="SQLite database file")
    parser.add_argument("--no-store", action="store_true", help="store nothing")
    parser.add_argument("--config", help="config file (default: $IKIGAI_CONFIG or user dir)")
    parser.add_argument(
        "-c",
        "--continue",
        dest="continue_last",
        action="store_true",
        help="continue the newest conversation (its most recently updated branch)",
    )
    parser.add_argument("--conversation", type=int, help="continue conversation ID")
    parser.add_argument(
        "--from",
        dest="from_message",
        type=int,
        metavar="MESSAGE_ID",
        help="headless: continue after message MESSAGE_ID, as a new branch",
    )
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="TOOL[,TOOL]",
        help="headless: let these tools run without asking ('all' for every tool, "
        "mcp__SERVER__* for every tool of an MCP server)",
    )
    parser.add_argument("--version", action="version", version="ikigai 0.2.0")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    from ikigai.engine.hardening import protect_process

    protect_process()  # before any key is read: tools must not read ours
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["history"]:
        from ikigai.cli.library import history_command

        return history_command(args_list[1:])
    if args_list[:1] == ["export"]:
        from ikigai.cli.library import export_command

        return export_command(args_list[1:])
    if args_list[:1] == ["models"]:
        from ikigai.cli.models import models_command

        return models_command(args_list[1:])
    from ikigai.engine.collector import pause_for_startup, resume_after_startup

    # Off while start-up builds what lives for the whole run; each front end turns
    # it back on as soon as that is done (engine.collector), and at the latest here.
    pause_for_startup()
    try:
        return _run(args_list)
    finally:
        resume_after_startup()


def _run(args_list: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.prompt is None:
        if args.output != "text" or args.no_store or args.allow or args.from_message is not None:
            parser.error("--output, --no-store, --allow and --from apply to headless runs (-p)")
        from ikigai.tui.launch import run_app

        return run_app(args)
    from ikigai.cli.prompt import run_headless_command

    return run_headless_command(args)
