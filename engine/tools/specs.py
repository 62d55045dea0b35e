"""What the model is told about each built-in tool: names, descriptions, schemas.

Kept apart from the implementations so that building a request needs only
this data; the tool modules (subprocesses, file walking, regexes) are
imported when the model first calls a tool.
"""

from __future__ import annotations

from ikigai.providers.request import ToolSpec

MAX_TIMEOUT_SECONDS = 3600.0

DEFAULT_LIMIT = 2000

MAX_RESULTS = 500


BASH = ToolSpec(
    name="bash",
    description=(
        "Run a shell command with /bin/bash -c in the working directory and return its "
        "combined stdout and stderr followed by the exit status. Use it for builds, tests, "
        "git and other programs; prefer file_read, file_edit, glob and grep for files. "
        "The command is killed (with everything it started) when it exceeds the timeout. "
        "Long output is truncated, so filter it (grep, head, tail) when you expect a lot. "
        "stdin is empty: do not run interactive programs."
    ),
    parameters={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The shell command to run."},
            "timeout": {
                "type": "number",
                "description": "Seconds before the command is killed (default set by the "
                "client, usually 120).",
                "maximum": MAX_TIMEOUT_SECONDS,
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
)


FILE_READ = ToolSpec(
    name="file_read",
    description=(
        "Read a text file and return its lines numbered from 1 (line number, a tab, then "
        "the line). By default up to 2000 lines from the start; use offset and limit to "
        "page through long files. Paths are relative to the working directory. Binary "
        "files and anything that is not a regular file (FIFOs, devices) are refused. "
        "Very long lines are shortened."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file to read."},
            "offset": {
                "type": "integer",
                "description": "1-based number of the first line to return (default 1).",
                "minimum": 1,
            },
            "limit": {
                "type": "integer",
                "description": f"How many lines to return (default {DEFAULT_LIMIT}).",
                "minimum": 1,
            },
        },
        "required": ["path"],
        "additionalProperties": False,
    },
)


FILE_WRITE = ToolSpec(
    name="file_write",
    description=(
        "Write content to a file, replacing it entirely if it exists and creating it (and "
        "any missing parent directories) if not. Paths are relative to the working "
        "directory. To change part of an existing file, prefer file_edit."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file to write."},
            "content": {"type": "string", "description": "The complete new content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    },
)


FILE_EDIT = ToolSpec(
    name="file_edit",
    description=(
        "Replace old_string with new_string in a file. old_string must match the file "
        "exactly, including whitespace and indentation (copy it from file_read output "
        "without the line-number prefix). It must occur exactly once unless replace_all is "
        "true; if it occurs several times, include more surrounding lines to make it "
        "unique. Use file_write to create new files."
    ),
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "The file to edit."},
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {
                "type": "boolean",
                "description": "Replace every occurrence instead of requiring exactly one "
                "(default false).",
            },
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    },
)


GLOB = ToolSpec(
    name="glob",
    description=(
        "Find files whose path matches a glob pattern, e.g. '**/*.py' or 'src/*.ts'. "
        "'*' and '?' do not cross '/', '**' matches any number of directories. The "
        "pattern is relative to path (default: the working directory). Returns matching "
        f"files, most recently modified first, at most {MAX_RESULTS}. .git is skipped."
    ),
    parameters={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The glob pattern."},
            "path": {
                "type": "string",
                "description": "Directory to search (default: the working directory).",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
)


GREP = ToolSpec(
    name="grep",
    description=(
        "Search file contents for a regular expression (RE2 syntax, like Python re but "
        "without backreferences or lookahead/lookbehind; use (?i) for case-insensitive). "
        "Searches path (a file or directory, default: the working "
        "directory) recursively, skipping binary files and .git. glob optionally limits "
        "which files are searched: '*.py' tests the file name, 'src/**/*.py' the path "
        "relative to path. Each result is 'path:line: text'."
    ),
    parameters={
        "type": "object",
        "properties": {
            "regex": {"type": "string", "description": "The regular expression to find."},
            "path": {
                "type": "string",
                "description": "File or directory to search (default: the working directory).",
            },
            "glob": {"type": "string", "description": "Only search files matching this glob."},
        },
        "required": ["regex"],
        "additionalProperties": False,
    },
)


BUILTIN_SPECS: tuple[ToolSpec, ...] = (BASH, FILE_READ, FILE_WRITE, FILE_EDIT, GLOB, GREP)
"""Every built-in tool, in the order they are offered to the model."""

BUILTIN_TOOL_NAMES: frozenset[str] = frozenset(spec.name for spec in BUILTIN_SPECS)
READ_ONLY_TOOLS: frozenset[str] = frozenset({"file_read", "glob", "grep"})
