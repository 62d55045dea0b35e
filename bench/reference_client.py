"""The minimal reference client of the headless benchmark.

A plain httpx streaming loop with ``json.loads`` per event, writing the answer
text to stdout: the least a Chat Completions client can do. Usage:
``python bench/reference_client.py BASE_URL``.
"""

import json
import sys

import httpx


def main() -> None:
    url = sys.argv[1].rstrip("/") + "/chat/completions"
    body = {
        "model": "fake-model",
        "stream": True,
        "messages": [{"role": "user", "content": "write"}],
    }
    headers = {"authorization": "Bearer bench"}
    out = sys.stdout
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", url, json=body, headers=headers) as response,
    ):
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            for choice in chunk["choices"]:
                text = choice["delta"].get("content")
                if text:
                    out.write(text)
    out.flush()


if __name__ == "__main__":
    main()
