"""Settings: every default lives in DEFAULTS; the user's config.toml overlays it, key by key.

Unknown keys are refused by name, so a typo never silently falls back to a default. Each table of
DEFAULTS becomes one frozen section object (``config.http``, ``config.wechat``, …) whose fields are
checked against the type of their default: a number must be finite and not negative, a whole number
stays whole, a ``bool`` is never taken for a number. Adding a setting is one line in DEFAULTS and one
field in its section's dataclass. The keys only one kind of source has (a feed's ``use_content``) keep
their defaults beside the kinds, in SOURCE_KIND_OPTIONAL.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ingest.errors import ConfigError
from parsers import MAX_DEPTH, MAX_ELEMENTS, Budget
from parsers.urls import mask_userinfo

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

DEFAULTS: dict[str, Any] = {
    "db": "jianbao.db",
    "http": {
        "user_agent": BROWSER_UA,
        "timeout": 20.0,  # seconds, per connect / read
        "max_time": 120.0,  # seconds, a whole request: a server trickling bytes cannot hold a worker forever
        "retries": 4,  # extra attempts after the first, for transient failures only
        "backoff": 1.0,  # first retry wait, doubled each time, with jitter
        "backoff_max": 60.0,
        "proxy": "",  # empty: use HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment
        "proxies": [],  # several exits ("http://…", "socks5://…", "direct"); empty: the single `proxy`
        "max_bytes": 20_000_000,
        "concurrency": 4,  # pages in flight at once, across hosts
        "cooldown": 60.0,  # first pause for a host that answered with a verification page
        "cooldown_max": 6 * 3600.0,  # the doubling stops here
        # pages a day per host and exit (longest suffix wins; absent: no cap), counted in the database
        "daily_limit": {"mp.weixin.qq.com": 300},
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
    "parse": {
        # real pages stay far below these (see README); past them a page is refused, not parsed for minutes
        "max_elements": MAX_ELEMENTS,  # 200,000: real pages have at most ~3,000 (parsers/__init__.py)
        "max_depth": MAX_DEPTH,  # 1,000: real pages nest at most ~140 counted on the raw page
    },
    "wechat": {
        "follow_per_day": 10,  # new accounts added to the WeRead shelf a day
        "list_interval": 5.0,  # seconds between two WeRead list calls
        "list_daily_limit": 500,  # WeRead list calls a day, across runs
    },
    "serve": {
        "image_cache_mb": 500,  # disk cache of proxied images beside the database; least recently used go
        "export_dir": "",  # an `export --images download` folder (relative to config.toml): images served from it first
    },
    # what every [[sources]] entry has unless it says otherwise
    "source": {
        "max_pages": 10,  # listing pages fetched per run
        "enabled": True,
    },
    "sources": [],
}

SOURCE_KINDS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    # kind -> the keys it requires besides name and kind; a tuple inside means "one of these"
    "feed": ("url",),
    "wechat-album": ("url",),
    "sitemap": ("url",),
    "qq-channel": ("channel",),
    "qq-hot": (),
    "urls": ("path",),
    "wechat-account": (("biz", "article"),),  # WeRead: the account's __biz, or one of its articles
}
# keys a source of the given kind may have without requiring them, with their defaults (the value's
# type is the type the key must have)
SOURCE_KIND_OPTIONAL: dict[str, dict[str, Any]] = {
    # store an entry's own full text (content:encoded, Atom content, content_html) without fetching
    # its page; a summary or teaser still sends the crawl to the page
    "feed": {"use_content": False},
}


def _default(section: str, key: str) -> Any:
    return DEFAULTS[section][key]


@dataclass(frozen=True, slots=True)
class HttpConfig:
    user_agent: str
    timeout: float
    max_time: float
    retries: int
    backoff: float
    backoff_max: float
    proxy: str
    proxies: tuple[str, ...]
    max_bytes: int
    concurrency: int
    cooldown: float
    cooldown_max: float
    daily_limit: dict[str, int]


@dataclass(frozen=True, slots=True)
class ParseConfig:
    max_elements: int
    max_depth: int

    @property
    def budget(self) -> Budget:
        """The limits as the parsers take them (the ones not configurable keep their defaults)."""
        return Budget(max_elements=self.max_elements, max_depth=self.max_depth)


@dataclass(frozen=True, slots=True)
class WechatConfig:
    follow_per_day: int
    list_interval: float
    list_daily_limit: int


@dataclass(frozen=True, slots=True)
class ServeConfig:
    image_cache_mb: int
    export_dir: str


# section name -> its dataclass; values come from DEFAULTS overlaid by the user's table
SECTIONS: dict[str, type] = {
    "http": HttpConfig,
    "parse": ParseConfig,
    "wechat": WechatConfig,
    "serve": ServeConfig,
}
# numbers that must be at least 1 (zero would mean "never" or divide by it)
POSITIVE = frozenset({"http.concurrency", "http.timeout", "http.max_time", "http.max_bytes",
                      "parse.max_elements", "parse.max_depth", "serve.image_cache_mb"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str
    url: str | None = None
    channel: str | None = None
    path: str | None = None
    max_pages: int = _default("source", "max_pages")
    enabled: bool = _default("source", "enabled")
    use_content: bool = SOURCE_KIND_OPTIONAL["feed"]["use_content"]  # feed only
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific keys beyond the common ones


def _section_defaults() -> dict[str, Any]:
    return {name: kind(**_coerce_all(name, DEFAULTS[name])) for name, kind in SECTIONS.items()}


def _coerce_all(section: str, values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v for k, v in values.items()}


@dataclass(frozen=True, slots=True)
class Config:
    db: str = DEFAULTS["db"]
    http: HttpConfig = field(default_factory=lambda: _section_defaults()["http"])
    politeness: dict[str, float] = field(default_factory=lambda: dict(DEFAULTS["politeness"]))
    sources: tuple[SourceConfig, ...] = ()
    path: str | None = None  # the file it came from, for messages and relative paths
    base_dir: Path = field(default_factory=Path.cwd)
    parse: ParseConfig = field(default_factory=lambda: _section_defaults()["parse"])
    wechat: WechatConfig = field(default_factory=lambda: _section_defaults()["wechat"])
    serve: ServeConfig = field(default_factory=lambda: _section_defaults()["serve"])

    def interval_for(self, host: str) -> float:
        """Minimum seconds between requests to ``host``: the longest matching suffix, else default."""
        found = _by_suffix(self.politeness, host)
        return found if found is not None else self.politeness.get("default", 0.0)

    def daily_limit_for(self, host: str) -> int | None:
        """Pages a day to ``host`` through one exit, or None for no cap."""
        return _by_suffix(self.http.daily_limit, host)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"no source named {name!r} (known: {known})", path=self.path)


def _by_suffix(table: dict[str, Any], host: str) -> Any:
    """The value of the longest key that is ``host`` or a parent domain of it; None when none is."""
    host = host.lower().rstrip(".")
    best: tuple[int, Any] | None = None
    for suffix, value in table.items():
        if suffix == "default":
            continue
        if (host == suffix or host.endswith("." + suffix)) and (best is None or len(suffix) > best[0]):
            best = (len(suffix), value)
    return best[1] if best else None


def _check_type(value: Any, expected: type | tuple[type, ...], key: str, path: str | None) -> None:
    # bool is an int in Python; a `timeout = true` typo must not pass as 1 second
    if isinstance(value, bool) and expected is not bool:
        ok = False
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise ConfigError(f"{key} must be {names}, not {value!r}", path=path, key=key)


def _number(value: Any, default: Any, key: str, path: str | None) -> Any:
    """``value`` checked against the type of ``default``: finite, not negative, whole where it must be."""
    expected: type | tuple[type, ...] = (int, float) if isinstance(default, float) else type(default)
    _check_type(value, expected, key, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, not {value!r}", path=path, key=key)
    if value < 0:
        raise ConfigError(f"{key} must not be negative", path=path, key=key)
    if key in POSITIVE and value <= 0:
        raise ConfigError(f"{key} must be more than 0", path=path, key=key)
    return float(value) if isinstance(default, float) else value


def _section(name: str, raw: Any, path: str | None) -> Any:
    _check_type(raw, dict, name, path)
    values: dict[str, Any] = dict(DEFAULTS[name])
    for key, value in raw.items():
        if key not in values:
            raise ConfigError(f"unknown key '{name}.{key}'", path=path, key=f"{name}.{key}")
        default = DEFAULTS[name][key]
        if isinstance(default, dict):
            value = _host_table(f"{name}.{key}", value, path, DEFAULTS[name][key])
        elif isinstance(default, list):
            _check_type(value, list, f"{name}.{key}", path)
            for item in value:
                _check_type(item, str, f"{name}.{key}[]", path)
            if f"{name}.{key}" == "http.proxies":
                _check_proxies(value, path)
        else:
            value = _number(value, default, f"{name}.{key}", path)
        values[key] = value
    return SECTIONS[name](**_coerce_all(name, values))


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")  # what httpx (with its socks extra) connects through


def _check_proxies(entries: list[str], path: str | None) -> None:
    """Each exit is ``direct`` or a proxy URL httpx can use, none given twice (one gateway with several
    users is fine: providers pick the address by user); a message never shows a user or password."""
    for n, entry in enumerate(entries):
        key = f"http.proxies[{n}]"
        if entry != "direct":
            try:
                parts = urlsplit(entry)
                scheme, host, _ = parts.scheme.lower(), parts.hostname, parts.port
            except ValueError:
                raise ConfigError(f"{key} is not a URL: {mask_userinfo(entry)!r}", path=path, key=key) from None
            if scheme not in PROXY_SCHEMES or not host:
                schemes = ", ".join(f"{s}://HOST:PORT" for s in PROXY_SCHEMES)
                raise ConfigError(
                    f'{key} must be "direct" or a proxy ({schemes}), not {mask_userinfo(entry)!r}', path=path, key=key
                )
        if entry in entries[:n]:
            raise ConfigError(f"{key} repeats an earlier exit: {mask_userinfo(entry)!r}", path=path, key=key)


def _host_table(name: str, raw: Any, path: str | None, defaults: dict[str, Any]) -> dict[str, Any]:
    """A ``HOST = number`` table (politeness, http.daily_limit) overlaid on its defaults."""
    _check_type(raw, dict, name, path)
    table = dict(defaults)
    sample = next(iter(defaults.values()), 1.0)
    for host, value in raw.items():
        table[host.lower()] = _number(value, sample, f"{name}.{host}", path)
    return table


def _source(raw: Any, n: int, path: str | None, defaults: dict[str, Any]) -> SourceConfig:
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
    optional = SOURCE_KIND_OPTIONAL.get(kind, {})
    flat = [k for item in needed for k in (item if isinstance(item, tuple) else (item,))]
    allowed = {"name", "kind", *flat, *optional, *DEFAULTS["source"]}
    for key in raw:
        if key not in allowed:
            owners = [k for k, keys in SOURCE_KIND_OPTIONAL.items() if key in keys]
            if owners:  # a real key, on the wrong kind of source
                only = " or ".join(repr(k) for k in owners)
                raise ConfigError(
                    f"{where}.{key} is only for kind {only}, not {kind!r}", path=path, key=f"{where}.{key}"
                )
            raise ConfigError(f"unknown key {where}.{key} for kind {kind!r}", path=path, key=f"{where}.{key}")
    for item in needed:
        if isinstance(item, tuple):  # one of these, and only one
            given = [k for k in item if k in raw]
            for k in given:
                _check_type(raw[k], str, f"{where}.{k}", path)
            if len(given) != 1 or not raw[given[0]]:
                names = " or ".join(item)
                raise ConfigError(f"{where} of kind {kind!r} needs one of {names}", path=path, key=where)
            continue
        key = item
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{where}.{key} is required for kind {kind!r}", path=path, key=f"{where}.{key}")
    common: dict[str, Any] = {}
    for key, default in defaults.items():
        common[key] = _number(raw.get(key, default), default, f"{where}.{key}", path)
    fields = {f.name for f in dataclasses.fields(SourceConfig)}
    extra = {k: v for k, v in raw.items() if k not in fields}
    for key, default in optional.items():
        value = raw.get(key, default)
        _check_type(value, type(default), f"{where}.{key}", path)
        (common if key in fields else extra)[key] = value
    return SourceConfig(
        name=name,
        kind=kind,
        url=raw.get("url"),
        channel=raw.get("channel"),
        path=raw.get("path"),
        extra=extra,
        **common,
    )


def build_config(data: dict[str, Any], *, path: str | None = None, base_dir: Path | None = None) -> Config:
    """Overlay ``data`` (a parsed config.toml) on DEFAULTS, refusing unknown keys and wrong types."""
    for key in data:
        if key not in DEFAULTS:
            raise ConfigError(f"unknown key {key!r}", path=path, key=key)
    db = data.get("db", DEFAULTS["db"])
    _check_type(db, str, "db", path)
    sections = {name: _section(name, data.get(name, {}), path) for name in SECTIONS}

    source_raw = data.get("source", {})
    _check_type(source_raw, dict, "source", path)
    source_defaults = dict(DEFAULTS["source"])
    for key, value in source_raw.items():
        if key not in source_defaults:
            raise ConfigError(f"unknown key 'source.{key}'", path=path, key=f"source.{key}")
        source_defaults[key] = _number(value, DEFAULTS["source"][key], f"source.{key}", path)

    src_raw = data.get("sources", [])
    _check_type(src_raw, list, "sources", path)
    sources = tuple(_source(raw, n, path, source_defaults) for n, raw in enumerate(src_raw))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate name {dupes[0]!r} in sources", path=path, key="sources")

    return Config(
        db=db,
        politeness=_host_table("politeness", data.get("politeness", {}), path, DEFAULTS["politeness"]),
        sources=sources,
        path=path,
        base_dir=base_dir or Path.cwd(),
        **sections,
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
