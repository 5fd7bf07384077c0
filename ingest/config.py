"""Settings: every default lives in DEFAULTS; the user's config.toml overlays it, key by key.

Unknown keys are refused by name, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

DEFAULTS: dict[str, Any] = {
    "db": "jianbao.db",
    "http": {
        "user_agent": BROWSER_UA,
        "timeout": 20.0,  # seconds, per connect / read
        "retries": 4,  # extra attempts after the first, for transient failures only
        "backoff": 1.0,  # first retry wait, doubled each time, with jitter
        "backoff_max": 60.0,
        "proxy": "",  # empty: use HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment
        "max_bytes": 20_000_000,
        "concurrency": 4,  # pages in flight at once, across hosts
        "cooldown": 60.0,  # first pause for a host that answered with a verification page
    },
    # minimum seconds between two requests to one host; the longest matching host suffix wins
    "politeness": {
        "mp.weixin.qq.com": 5.0,
        "qq.com": 1.0,
        # image CDNs serve static files to browsers that fetch dozens at once
        "qpic.cn": 0.1,
        "gtimg.com": 0.1,
        "gtimg.cn": 0.1,
        "default": 1.0,
    },
    "sources": [],
}

SOURCE_KINDS: dict[str, tuple[str, ...]] = {
    # kind -> the keys it requires besides name and kind
    "feed": ("url",),
    "wechat-album": ("url",),
    "sitemap": ("url",),
    "qq-channel": ("channel",),
    "qq-hot": (),
    "urls": ("path",),
}
SOURCE_OPTIONAL = ("max_pages", "enabled")


@dataclass(frozen=True, slots=True)
class HttpConfig:
    user_agent: str
    timeout: float
    retries: int
    backoff: float
    backoff_max: float
    proxy: str
    max_bytes: int
    concurrency: int
    cooldown: float


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None = None
    channel: str | None = None
    path: str | None = None
    max_pages: int = 10
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Config:
    db: str
    http: HttpConfig
    politeness: dict[str, float]
    sources: tuple[SourceConfig, ...] = ()
    path: str | None = None  # the file it came from, for messages and relative paths
    base_dir: Path = field(default_factory=Path.cwd)

    def interval_for(self, host: str) -> float:
        """Minimum seconds between requests to ``host``: the longest matching suffix, else default."""
        host = host.lower().rstrip(".")
        best: tuple[int, float] | None = None
        for suffix, seconds in self.politeness.items():
            if suffix == "default":
                continue
            matches = host == suffix or host.endswith("." + suffix)
            if matches and (best is None or len(suffix) > best[0]):
                best = (len(suffix), seconds)
        return best[1] if best else self.politeness.get("default", 0.0)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"no source named {name!r} (known: {known})", path=self.path)


def _check_type(value: Any, expected: type | tuple[type, ...], key: str, path: str | None) -> None:
    # bool is an int in Python; a `timeout = true` typo must not pass as 1 second
    if isinstance(value, bool) and expected is not bool:
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{key} must be {names}, not {value!r}", path=path, key=key)


def _source(raw: Any, n: int, path: str | None) -> SourceConfig:
    where = f"sources[{n}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table", path=path, key=where)
    name, kind = raw.get("name"), raw.get("kind")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name is required", path=path, key=f"{where}.name")
    if kind not in SOURCE_KINDS:
        kinds = ", ".join(SOURCE_KINDS)
        raise ConfigError(f"{where}.kind must be one of {kinds}, not {kind!r}", path=path, key=where + ".kind")
    needed = SOURCE_KINDS[kind]
    allowed = {"name", "kind", *needed, *SOURCE_OPTIONAL}
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"unknown key {where}.{key} for kind {kind!r}", path=path, key=f"{where}.{key}")
    for key in needed:
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{where}.{key} is required for kind {kind!r}", path=path, key=f"{where}.{key}")
    max_pages = raw.get("max_pages", 10)
    _check_type(max_pages, int, f"{where}.max_pages", path)
    enabled = raw.get("enabled", True)
    _check_type(enabled, bool, f"{where}.enabled", path)
    return SourceConfig(
        name=name,
        kind=kind,
        url=raw.get("url"),
        channel=raw.get("channel"),
        path=raw.get("path"),
        max_pages=max_pages,
        enabled=enabled,
    )


def build_config(data: dict[str, Any], *, path: str | None = None, base_dir: Path | None = None) -> Config:
    """Overlay ``data`` (a parsed config.toml) on DEFAULTS, refusing unknown keys and wrong types."""
    for key in data:
        if key not in DEFAULTS:
            raise ConfigError(f"unknown key {key!r}", path=path, key=key)
    db = data.get("db", DEFAULTS["db"])
    _check_type(db, str, "db", path)

    http_raw = data.get("http", {})
    _check_type(http_raw, dict, "http", path)
    http: dict[str, Any] = dict(DEFAULTS["http"])
    for key, value in http_raw.items():
        if key not in http:
            raise ConfigError(f"unknown key 'http.{key}'", path=path, key=f"http.{key}")
        default = DEFAULTS["http"][key]
        expected: type | tuple[type, ...] = (int, float) if isinstance(default, float) else type(default)
        _check_type(value, expected, f"http.{key}", path)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"http.{key} must not be negative", path=path, key=f"http.{key}")
        http[key] = float(value) if isinstance(default, float) else value
    if http["concurrency"] < 1:
        raise ConfigError("http.concurrency must be at least 1", path=path, key="http.concurrency")

    pol_raw = data.get("politeness", {})
    _check_type(pol_raw, dict, "politeness", path)
    politeness = dict(DEFAULTS["politeness"])
    for host, seconds in pol_raw.items():
        _check_type(seconds, (int, float), f"politeness.{host}", path)
        if seconds < 0:
            raise ConfigError(f"politeness.{host} must not be negative", path=path, key=f"politeness.{host}")
        politeness[host.lower()] = float(seconds)

    src_raw = data.get("sources", [])
    _check_type(src_raw, list, "sources", path)
    sources = tuple(_source(raw, n, path) for n, raw in enumerate(src_raw))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate name {dupes[0]!r} in sources", path=path, key="sources")

    return Config(
        db=db,
        http=HttpConfig(**http),
        politeness=politeness,
        sources=sources,
        path=path,
        base_dir=base_dir or Path.cwd(),
    )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read ``path``; with None, ``$JIANBAO_CONFIG`` or ``./config.toml`` when present, else defaults."""
    explicit = path is not None or bool(os.environ.get("JIANBAO_CONFIG"))
    chosen = Path(path if path is not None else os.environ.get("JIANBAO_CONFIG") or "config.toml")
    if not chosen.exists():
        if explicit:
            raise ConfigError("config file not found", path=str(chosen))
        return build_config({})
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config: {exc}", path=str(chosen)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=str(chosen)) from exc
    return build_config(data, path=str(chosen), base_dir=chosen.resolve().parent)
