"""Options from the command line, the environment, an env file and a TOML file (cli.FLAGS is
the one table of them all): precedence, parsing alike everywhere, errors naming their source,
uvicorn's names, --factory, --header, --version and unknown options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.server import TESTS_DIR, ServerProcess

from asgi_core import __version__
from asgi_core.backends import ServerConfig
from asgi_core.backends.cli import FLAGS, build_parser, resolve
from asgi_core.backends.options import OptionError, read_config_file, read_env_file


def options(argv: list[str], env: dict[str, str] | None = None, **file: Any) -> Any:
    return resolve(build_parser().parse_args(argv), env or {}, ("config.toml", file))


def run_cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "asgi_core", *args], capture_output=True, text=True, timeout=30,
        cwd=cwd, env={**os.environ, **env},
    )  # fmt: skip


def test_a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() -> None:
    assert options([]).config.port == 8000
    assert options([], port=8001).config.port == 8001
    assert options([], {"ASGI_CORE_PORT": "8002"}, port=8001).config.port == 8002
    assert options(["--port", "8003"], {"ASGI_CORE_PORT": "8002"}, port=8001).config.port == 8003


def test_every_source_parses_as_the_flag_does() -> None:
    """Types, switches, 0 as off, repeatable values and choices, from each source."""
    env = {"ASGI_CORE_ACCESS_LOG": "false", "ASGI_CORE_WS_PING_INTERVAL": "0",
           "ASGI_CORE_BIND": "127.0.0.1:1, 127.0.0.1:2", "ASGI_CORE_BACKEND": "trio",
           "ASGI_CORE_DEFAULT_HEADERS": "x-a: 1, 2\nx-b:3"}  # fmt: skip
    config = options([], env).config
    assert config.access_log is False and config.protocol.ws_ping_interval is None
    assert config.bind == ("127.0.0.1:1", "127.0.0.1:2") and config.backend == "trio"
    assert config.protocol.default_headers == ((b"x-a", b"1, 2"), (b"x-b", b"3"))
    config = options([], access_log=False, ws_ping_interval=0, bind="127.0.0.1:1",
                     keep_alive_timeout=2, uds_mode="660", server_header=False).config  # fmt: skip
    assert config.access_log is False and config.protocol.ws_ping_interval is None
    assert config.bind == ("127.0.0.1:1",) and config.protocol.keep_alive_timeout == 2.0
    assert config.uds_mode == 0o660 and config.protocol.server_header is None


@pytest.mark.parametrize(
    ("argv", "env", "file", "message"),
    [
        (["--port", "x"], {}, {}, "--port x: port must be an int, not 'x'"),
        ([], {"ASGI_CORE_PORT": "x"}, {}, "ASGI_CORE_PORT='x': port must be an int"),
        ([], {}, {"port": 80.5}, "config.toml: port: port must be an int, not 80.5"),
        ([], {}, {"port": 70000}, "config.toml: port: port must be an int from 0 to 65535"),
        ([], {"ASGI_CORE_ACCESS_LOG": "maybe"}, {}, "ASGI_CORE_ACCESS_LOG='maybe': access_log"),
        (["--backend", "tokio"], {}, {}, "--backend tokio: backend must be one of asyncio"),
        ([], {}, {"keyfile": "k.pem"}, "config.toml: ssl_keyfile: ssl_keyfile needs ssl_cert"),
        (["--header", "novalue"], {}, {}, "--header novalue: default_headers must be valid"),
        (["--h2-reset-budget", "0"], {}, {}, "--h2-reset-budget 0: h2_reset_budget must be"),
        (["--http", "llhttp"], {}, {}, "--http llhttp: http must be one of auto, h11, httptools"),
        (["--min-response-rate-grace", "-1"], {}, {}, "--min-response-rate-grace -1: min_resp"),
        ([], {}, {"prot": 1}, "config.toml: unknown option 'prot' (did you mean 'port'?)"),
    ],
)
def test_an_invalid_value_names_its_source(
    argv: list[str], env: dict[str, str], file: dict[str, Any], message: str
) -> None:
    with pytest.raises(OptionError) as raised:
        options(argv, env, **file)
    assert str(raised.value).startswith(message), str(raised.value)


def test_uvicorns_names_set_the_same_fields() -> None:
    config = options(["--timeout-keep-alive", "3", "--timeout-graceful-shutdown", "4",
                      "--h11-max-incomplete-event-size", "5000", "--ssl-certfile", "c.pem",
                      "--limit-concurrency", "9", "--root-path", "/api"]).config  # fmt: skip
    assert config.protocol.keep_alive_timeout == 3 and config.graceful_timeout == 4
    assert config.protocol.max_request_head_size == 5000 and config.ssl_certfile == "c.pem"
    assert config.limit_concurrency == 9 and config.protocol.root_path == "/api"
    assert options(["--http", "h11"]).config.protocol.http == "h11"
    # A file may use the flag's name too (certfile for ssl_certfile).
    assert options([], certfile="c.pem").config.ssl_certfile == "c.pem"


def test_no_option_is_abbreviated() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--timeout-keep", "3"])  # not --timeout-keep-alive


def test_every_option_has_help_and_shows_its_default() -> None:
    help = build_parser().format_help()
    for _, _, flags in FLAGS:
        for flag in flags:
            assert flag.help, f"{flag.flag} has no help"
            assert flag.env in help.replace("\n", " ").replace(" ", ""), flag.env
    assert "(default: 8000; env ASGI_CORE_PORT)" in help


def test_env_file_adds_to_the_environment_without_overriding_it(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("# settings\nexport ASGI_CORE_PORT=8005\nASGI_CORE_HOST='::1'\nOTHER=x #c\n")
    environ = {"ASGI_CORE_HOST": "0.0.0.0"}
    assert read_env_file(str(path), environ) == {"ASGI_CORE_PORT", "OTHER"}
    assert environ == {"ASGI_CORE_HOST": "0.0.0.0", "ASGI_CORE_PORT": "8005", "OTHER": "x"}
    path.write_text("NOT A LINE\n")
    with pytest.raises(OptionError, match=r"\.env, line 1: expected NAME=VALUE"):
        read_env_file(str(path), {})


def test_pyproject_table_is_read_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert read_config_file(None) == ("", {})
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert read_config_file(None) == ("", {})
    (tmp_path / "pyproject.toml").write_text("[tool.asgi-core]\nport = 8006\n")
    label, table = read_config_file(None)
    assert label == "pyproject.toml [tool.asgi-core]" and table == {"port": 8006}
    (tmp_path / "bad.toml").write_text("port = \n")
    with pytest.raises(OptionError, match=r"bad\.toml: invalid TOML"):
        read_config_file(str(tmp_path / "bad.toml"))
    with pytest.raises(OptionError, match=r"--config nope\.toml: No such file"):
        read_config_file("nope.toml")


def test_defaults_everywhere_give_the_default_config() -> None:
    assert options([]).config == ServerConfig()


# -- the command in a subprocess ---------------------------------------------------------------


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"asgi-core {__version__}"


def test_an_unknown_option_is_one_line_naming_the_closest() -> None:
    result = run_cli("--htp2")
    assert result.returncode == 2
    assert result.stderr == "asgi-core: error: unknown option --htp2 (did you mean --http2?)\n"
    result = run_cli("--prot", "1")
    assert result.stderr == "asgi-core: error: unknown option --prot (did you mean --port?)\n"


def test_config_file_env_file_and_flags_together(tmp_path: Path) -> None:
    (tmp_path / "asgi.toml").write_text(
        'app = "helpers.apps:hello"\nport = 1\naccess_log = false\nheader = ["x-from-file: yes"]\n'
    )
    (tmp_path / ".env").write_text("ASGI_CORE_PORT=2\n")
    args = ["--config", str(tmp_path / "asgi.toml"), "--env-file", str(tmp_path / ".env"),
            "--port", "0"]  # fmt: skip
    with ServerProcess(*args) as server:
        response = httpx.get(f"http://{server.host}:{server.port}/")
        assert response.headers["x-from-file"] == "yes"
        assert '"GET / HTTP/1.1" 200' not in server.output()  # access_log = false


def test_the_environment_names_its_source_in_the_error(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ASGI_CORE_PORT=x\n")
    result = run_cli("--env-file", str(tmp_path / ".env"))
    assert result.returncode == 2
    assert result.stderr == "asgi-core: error: ASGI_CORE_PORT='x': port must be an int, not 'x'\n"
    (tmp_path / "pyproject.toml").write_text("[tool.asgi-core]\nworkers = 0\n")
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(
        "asgi-core: error: pyproject.toml [tool.asgi-core]: workers: workers must be an int"
    )


def test_factory_and_header(tmp_path: Path) -> None:
    (tmp_path / "factoryapp.py").write_text(
        "from helpers.apps import hello\n\ndef create():\n    return hello\n"
    )
    args = ["factoryapp:create", "--factory", "--app-dir", str(tmp_path), "--port", "0",
            "--header", "X-Served-By: edge", "--header", "server:mine"]  # fmt: skip
    with ServerProcess(*args, env={"PYTHONPATH": str(TESTS_DIR)}) as server:
        response = httpx.get(f"http://{server.host}:{server.port}/")
        assert response.status_code == 200
        assert response.headers["x-served-by"] == "edge"
        assert response.headers.get_list("server") == ["mine"]
    result = run_cli("factoryapp:create", "--app-dir", str(tmp_path), "--port", "0",
                     "--lifespan", "on", PYTHONPATH=str(TESTS_DIR))  # fmt: skip
    assert result.returncode == 2  # without --factory, create() takes no arguments: no app
    assert "--factory calls it" in result.stderr and "--interface" in result.stderr


# -- docs/configuration.md is this table ------------------------------------------------------

PAGE = TESTS_DIR.parent / "docs" / "configuration.md"
INTRO = """# Configuration

Every option can be given three ways besides its default. The first that has it wins:

1. the command line: `asgi-core app:app --port 8000`;
2. the environment: `ASGI_CORE_PORT=8000` (`--env-file FILE` adds `NAME=VALUE` lines to it,
   where the environment has no such variable; the app sees them too);
3. a TOML file: `--config asgi.toml` with `port = 8000` at its top, or with no `--config` the
   `[tool.asgi-core]` table of `./pyproject.toml`. A key may also be the flag's name with
   underscores (`certfile`); `app = "module:attribute"` names the app.

Values are parsed alike wherever they come from: switches take `true`/`false` (also `1`/`0`,
`yes`/`no`, `on`/`off` in the environment), 0 turns off the options that say so, and a
repeatable option takes a TOML list, or in the environment values separated by commas (by
newlines for `--header`). An invalid value is one line naming its source, and exit status 2:
`--port x: ...`, `ASGI_CORE_PORT='x': ...`, `asgi.toml: port: ...`.

Other names are uvicorn's, accepted where they mean the same. The app string is `APP` on the
command line, `ASGI_CORE_APP` or the `app` key. This page is generated from the table of
options (`backends/cli.py` `FLAGS`); `ASGI_CORE_WRITE_DOCS=1 pytest
tests/server/test_configuration.py` rewrites it, and the test fails when it differs.
"""


def configuration_page() -> str:
    from asgi_core.backends.cli import _defaults

    defaults = _defaults()
    lines = [INTRO]
    for title, description, flags in FLAGS:
        lines += ["", f"## {title or 'Server'}", ""]
        if description:
            lines += [description[0].upper() + description[1:] + ".", ""]
        lines += ["| flag | environment | file key | default | meaning |", "| --- " * 5 + "|"]
        for flag in flags:
            names = ", ".join(
                f"`{n}`" for n in (flag.flag, *flag.aliases, *([flag.off] if flag.off else [])) if n
            )
            meaning = (flag.help or "").replace("|", "\\|")
            default = flag.shown_default(defaults)
            lines.append(f"| {names} | `{flag.env}` | `{flag.dest}` | `{default}` | {meaning} |")
    return "\n".join(lines) + "\n"


def test_the_configuration_page_lists_every_option_as_the_table_has_it() -> None:
    import os

    page = configuration_page()
    if os.environ.get("ASGI_CORE_WRITE_DOCS"):
        PAGE.write_text(page)
    assert PAGE.read_text() == page, "docs/configuration.md is stale: see its last paragraph"
