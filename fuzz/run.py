"""Runs the fuzz targets with atheris (libFuzzer), one after the other, each bounded in time or
runs and memory; new corpus entries and crash inputs go to a scratch folder, not the repo.

    python -m fuzz.run --time 60               # every target for 60 s
    python -m fuzz.run --runs 20000 http11     # one target for 20000 inputs
    python -m fuzz.run --time 30 -- -only_ascii=1   # extra libFuzzer flags after --

Exits 1 if any target found a crash (its input is named in the report), 2 if atheris is
missing: a fuzz step must never pass without fuzzing.
"""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = (
    "http11",
    "http11_parsers",
    "http2",
    "websocket",
    "websocket_fast_path",
    "h2c_and_sniffing",
    "proxy",
)
#: Targets that start from another target's seed corpus.
SEEDS_OF = {"http11_parsers": "http11", "websocket_fast_path": "websocket"}
#: What atheris instruments for coverage: the core and the protocol libraries under it.
INSTRUMENTED = ["asgi_core", "h11", "h2", "hpack", "hyperframe", "wsproto"]
#: The memory driver the targets run on (asgi_core.backends): scaffolding, not what is fuzzed.
NOT_INSTRUMENTED = [f"asgi_core.backends{name}" for name in ("", ".driver", ".logs", ".memory")]
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def fuzz_one(target: str, libfuzzer_args: list[str]) -> None:
    """In a child process: instrument the core, import the target, hand over to libFuzzer."""
    try:
        import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        print("fuzz: atheris is not installed (pip install atheris)", file=sys.stderr)
        sys.exit(2)
    with atheris.instrument_imports(include=INSTRUMENTED, exclude=NOT_INSTRUMENTED):
        module = importlib.import_module(f"fuzz.{target}")
    # libFuzzer re-runs argv[0] through the shell for -minimize_crash and -merge.
    command = f"{sys.executable} -m fuzz.run --child {target} --"
    atheris.Setup([command, *libfuzzer_args], module.check)
    atheris.Fuzz()


def run_target(target: str, args: argparse.Namespace, scratch: Path) -> bool:
    """Fuzz one target in a child process; print its figures; True if it found no crash."""
    out = scratch / target
    corpus, crashes = out / "corpus", out / "crashes"
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    bound = f"-max_total_time={args.time}" if args.runs is None else f"-runs={args.runs}"
    command = [
        sys.executable,
        "-m",
        "fuzz.run",
        "--child",
        target,
        "--",
        bound,
        f"-rss_limit_mb={args.rss_limit_mb}",
        f"-max_len={args.max_len}",
        f"-timeout={args.timeout}",
        f"-artifact_prefix={crashes}/",
        "-print_final_stats=1",
        *args.libfuzzer,
        str(corpus),
        str(HERE / "corpus" / SEEDS_OF.get(target, target)),
    ]
    log = out / "fuzz.log"
    earlier = set(crashes.iterdir())  # from a previous run into the same --out
    started = time.monotonic()
    with log.open("wb") as sink:
        code = subprocess.run(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT).returncode
    elapsed = time.monotonic() - started
    text = log.read_text(errors="replace")
    found = sorted(set(crashes.iterdir()) - earlier)
    print(f"{target}: {_figures(text)} in {elapsed:.0f} s, exit {code}", flush=True)
    if code == 0 and not found:
        return True
    print("\n".join(text.splitlines()[-60:]), file=sys.stderr)
    for path in found:
        print(f"{target}: crash input {path}", file=sys.stderr)
    if code == 2 and "atheris is not installed" in text:
        sys.exit(2)
    return False


def _figures(log: str) -> str:
    """Executions, speed, coverage and memory from libFuzzer's closing statistics."""
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", log, re.MULTILINE))
    status = re.findall(r"^#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log, re.MULTILINE)
    cov, features, corpus = status[-1] if status else ("?", "?", "?")
    return (
        f"{stats.get('number_of_executed_units', '?')} runs "
        f"({stats.get('average_exec_per_sec', '?')}/s), cov {cov}, ft {features}, "
        f"corpus {corpus}, peak rss {stats.get('peak_rss_mb', '?')} MB"
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        target, extra = argv[1], argv[3:] if argv[2:3] == ["--"] else argv[2:]
        fuzz_one(target, extra)
        return 0
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", usage=__doc__)
    parser.add_argument("targets", nargs="*", help=f"some of {', '.join(TARGETS)} (default all)")
    parser.add_argument("--time", type=int, default=60, help="seconds per target (default 60)")
    parser.add_argument("--runs", type=int, help="inputs per target, instead of --time")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--max-len", type=int, default=4096, help="longest input, bytes")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--out", type=Path, help="scratch folder (default: a new temp folder)")
    args = parser.parse_args(argv)
    args.libfuzzer = extra
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    targets = args.targets or list(TARGETS)
    scratch = args.out or Path(tempfile.mkdtemp(prefix="asgi-core-fuzz-"))
    print(f"fuzz: new corpus entries, crashes and logs go to {scratch}", flush=True)
    failed = [target for target in targets if not run_target(target, args, scratch)]
    if failed:
        print(f"fuzz: crashes in {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"fuzz: {len(targets)} targets, no crash")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
