"""Run the Autobahn|Testsuite fuzzing client against asgi-core and print the verdict counts.

    python tests/conformance/autobahn.py [--backend asyncio] [--loop auto] [--cases "1.*,2.*"]

Needs ``wstest`` (``shared/tools/install-autobahn.sh`` installs it; ``--wstest`` or the
``WSTEST`` environment variable says where). Exits 1 if any case FAILED, and prints every
case whose verdict is not OK so docs/conformance.md can explain it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_WSTEST = Path.home() / ".cache" / "autobahn" / "venv" / "bin" / "wstest"
ALL_CASES = [f"{n}.*" for n in range(1, 14)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(wstest: str, backend: list[str], cases: list[str], exclude: list[str]) -> dict[str, dict]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "asgi_core", "echo_app:app", "--app-dir", str(HERE),
         "--port", str(port), "--no-access-log", "--log-level", "warning", "--lifespan", "off",
         *backend],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("asgi-core did not start") from None
                time.sleep(0.05)
        with tempfile.TemporaryDirectory() as out:
            spec = {
                "outdir": out,
                "servers": [{"agent": "asgi-core", "url": f"ws://127.0.0.1:{port}"}],
                "cases": cases,
                "exclude-cases": exclude,
                "exclude-agent-cases": {},
            }
            spec_path = Path(out) / "fuzzingclient.json"
            spec_path.write_text(json.dumps(spec))
            subprocess.run(
                [wstest, "-m", "fuzzingclient", "-s", str(spec_path)],
                cwd=out,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            results: dict[str, dict] = json.loads((Path(out) / "index.json").read_text())
            return results["asgi-core"]
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="asyncio")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--cases", default=",".join(ALL_CASES))
    parser.add_argument("--exclude", default="")
    parser.add_argument("--wstest", default=os.environ.get("WSTEST", str(DEFAULT_WSTEST)))
    args = parser.parse_args()
    backend = ["--backend", args.backend, "--loop", args.loop]
    cases = [c for c in args.cases.split(",") if c]
    exclude = [c for c in args.exclude.split(",") if c]
    results = run(args.wstest, backend, cases, exclude)
    counts: collections.Counter[str] = collections.Counter()

    def case_order(item: tuple[str, dict]) -> list[int]:
        return [int(part) for part in item[0].split(".")]

    for case_id, result in sorted(results.items(), key=case_order):
        for key in ("behavior", "behaviorClose"):
            counts[f"{key} {result[key]}"] += 1
        if result["behavior"] != "OK" or result["behaviorClose"] != "OK":
            print(f"  {case_id}: {result['behavior']} / close {result['behaviorClose']}")
    label = f"{args.backend}" + (f" on {args.loop}" if args.loop != "auto" else "")
    print(f"Autobahn fuzzingclient, {label}, {len(results)} cases: " + ", ".join(
        f"{name}: {count}" for name, count in sorted(counts.items())
    ))  # fmt: skip
    failed = sum(n for name, n in counts.items() if name.endswith("FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
