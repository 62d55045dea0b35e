"""Running ``ikigai -p``: prompt assembly, configuration, provider, output, exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys

from tui.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def read_prompt(prompt: str) -> str:
    """``prompt`` with standard input appended when stdin is not a terminal."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        return prompt
    try:
        if stdin.isatty():
            return prompt
        piped = stdin.buffer.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return prompt
    if not piped:
        return prompt
    return f"{prompt}\n\n{piped}" if prompt else piped


def run_headless_command(args: argparse.Namespace) -> int:
    """Resolve the configuration and run one headless turn; returns the exit status."""
    from tui.settings import ConfigError, load_settings, resolve_run

    prompt = read_prompt(args.prompt)
    if not prompt.strip():
        print("ikigai: error: the prompt is empty", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings, _ = load_settings(args.config)
        run = resolve_run(
            settings,
            profile=args.profile,
            model=args.model,
            thinking=args.thinking,
            base_url=args.base_url,
            max_turns=args.max_turns,
        )
    except ConfigError as exc:
        print(f"ikigai: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_run(args, run, prompt))


async def _run(args: argparse.Namespace, run: object, prompt: str) -> int:
    from providers.http import close_shared_client
    from providers.registry import create_provider
    from tui.headless import HeadlessWriter, stdout_is_terminal
    from tui.settings import RunConfig
    from tui.turns import TurnRunner, TurnSettings

    assert isinstance(run, RunConfig)
    writer = HeadlessWriter(args.output, sys.stdout, sys.stderr, sanitize=stdout_is_terminal())
    provider = create_provider(run.provider, run.options)
    warning = provider.model_warning(run.model)
    if warning:
        writer.warn(warning)
    runner = TurnRunner(
        provider,
        TurnSettings(
            model=run.model,
            system=run.system_prompt,
            thinking=run.thinking,
            max_output_tokens=run.max_output_tokens,
            max_turns=run.max_turns,
        ),
        writer,
    )
    try:
        outcome = await runner.run(prompt)
    finally:
        writer.finish()
        await close_shared_client()
    if outcome.error is not None:
        writer.error(outcome.error)
        return EXIT_FAILURE
    return EXIT_OK
