"""``ikigai models [PROVIDER] [--base-url URL] [--no-key] [--output text|json]``: the models
a provider offers.

Without PROVIDER, the provider of the profile's model (``--profile``, else the
default profile). The list is the server's (``GET /models`` and its vendor
forms), merged with what ikigai knows about each model and cached for a day
(``--refresh`` asks again); see ``engine.model_catalog``. Text output is one
model per line (``provider/model``, thinking mode, output limit, context
window where known); notes go to stderr. ``--output json`` prints one JSON
object.

A server on this machine (a loopback ``--base-url``) is asked without a key
when none is set; ``--no-key`` asks any server without one.

Exit status: 0 when the list came from the server, the cache, or ikigai's own
list because the server has none (404, HTML) or no key is set; 1 when the
server was asked and failed (network, auth: the list printed is then the
cached or known one); 2 for usage or configuration errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ikigai.cli.exits import EXIT_FAILURE, EXIT_OK, fail, write_out

if TYPE_CHECKING:
    from ikigai.engine.model_catalog import ModelCatalog, ModelInfo
    from ikigai.providers.http import ProviderOptions


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ikigai models", description="List the models a provider offers."
    )
    parser.add_argument(
        "provider",
        nargs="?",
        help="openai, openai-chat, anthropic or google (default: the profile's provider)",
    )
    parser.add_argument("--base-url", help="ask the server at this URL instead")
    parser.add_argument(
        "--no-key",
        action="store_true",
        help="ask without an API key (a local server: Ollama, llama.cpp, vLLM)",
    )
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument("--profile", help="profile whose provider to list (without PROVIDER)")
    parser.add_argument("--refresh", action="store_true", help="ask the server even if cached")
    parser.add_argument("--config", help="config file (default: $IKIGAI_CONFIG or user dir)")
    return parser


def models_command(argv: Sequence[str]) -> int:
    """Run ``ikigai models``; returns the exit status."""
    from ikigai.engine.config_loader import load_settings
    from ikigai.engine.settings import ConfigError, provider_options, resolve_run
    from ikigai.providers.registry import PROVIDERS

    args = build_parser().parse_args(list(argv))
    try:
        settings, _ = load_settings(args.config)
        provider = args.provider
        if provider is None:
            provider = resolve_run(settings, profile=args.profile, require_key=False).provider
        elif provider not in PROVIDERS:
            return fail(f"unknown provider '{provider}' (known: {', '.join(PROVIDERS)})")
        options, key_vars, _ = provider_options(
            settings, provider, base_url=args.base_url, no_key=args.no_key
        )
    except ConfigError as exc:
        return fail(str(exc))
    from ikigai.providers.http import is_loopback_url

    # A server on this machine is asked even without a key: most local servers need
    # none, and nothing secret leaves the machine.
    key_missing = bool(key_vars) and not options.api_key and not is_loopback_url(options.base_url)
    catalog = asyncio.run(
        _list(
            provider,
            options,
            key_missing=key_missing,
            refresh=args.refresh,
            models=settings.models,
        )
    )
    from ikigai.engine.textsafety import escape_json_controls, neutralize

    if catalog.note:
        print(f"ikigai: {neutralize(catalog.note)}", file=sys.stderr)

    def write() -> int:
        if args.output == "json":
            line = json.dumps(catalog.as_data(), ensure_ascii=False)
            sys.stdout.write(escape_json_controls(line) + "\n")
        else:
            sys.stdout.write(render_text(catalog.models))
        return EXIT_FAILURE if catalog.error_category else EXIT_OK

    return write_out(write)


async def _list(
    provider: str,
    options: ProviderOptions,
    *,
    key_missing: bool,
    refresh: bool,
    models: Mapping[str, Any],
) -> ModelCatalog:
    from ikigai.engine.model_catalog import available_models, facts_from_table
    from ikigai.providers.http import close_shared_client

    try:
        return await available_models(
            provider,
            options,
            key_missing=key_missing,
            refresh=refresh,
            facts=facts_from_table(models),
        )
    finally:
        await close_shared_client()


def render_text(models: Sequence[ModelInfo]) -> str:
    """One aligned line per model: ``provider/model  thinking  max-output  window``."""
    from ikigai.engine.textsafety import neutralize

    rows = [("MODEL", "THINKING", "MAX OUTPUT", "WINDOW")]
    for model in models:
        rows.append(
            (
                neutralize(model.model_spec),
                model.thinking if model.known else "-",
                str(model.max_output_tokens) if model.max_output_tokens else "-",
                str(model.context_window) if model.context_window else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    ]
    return "\n".join(lines) + "\n"
