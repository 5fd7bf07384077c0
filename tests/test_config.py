"""config.toml overlays DEFAULTS; every mistake is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import DEFAULTS, build_config, load_config
from ingest.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIANBAO_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.db == DEFAULTS["db"] and cfg.http.max_bytes == 20_000_000 and cfg.sources == ()
    assert cfg.interval_for("mp.weixin.qq.com") == 5.0
    assert cfg.interval_for("news.qq.com") == 1.0  # suffix qq.com
    assert cfg.interval_for("mmbiz.qpic.cn") == 0.1
    assert cfg.interval_for("example.com") == DEFAULTS["politeness"]["default"]


def test_overlay_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'db = "x.db"\n[http]\ntimeout = 3\n[politeness]\n"mp.weixin.qq.com" = 0\n"thepaper.cn" = 2.5\n'
        '[[sources]]\nname = "t"\nkind = "qq-channel"\nchannel = "news_news_tech"\nmax_pages = 2\n',
        encoding="utf-8",
    )
    cfg = load_config(path)
    assert cfg.db == "x.db" and cfg.http.timeout == 3.0 and cfg.http.retries == DEFAULTS["http"]["retries"]
    assert cfg.interval_for("mp.weixin.qq.com") == 0 and cfg.interval_for("www.thepaper.cn") == 2.5
    assert cfg.source("t").channel == "news_news_tech" and cfg.source("t").max_pages == 2
    assert cfg.base_dir == tmp_path


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"dbb": "x"}, "dbb"),
        ({"http": {"timout": 3}}, "http.timout"),
        ({"http": {"timeout": "3"}}, "http.timeout"),
        ({"http": {"retries": True}}, "http.retries"),
        ({"http": {"max_bytes": -1}}, "http.max_bytes"),
        ({"http": {"concurrency": 0}}, "http.concurrency"),
        ({"politeness": {"qq.com": "fast"}}, "politeness.qq.com"),
        ({"sources": [{"name": "a", "kind": "rss", "url": "x"}]}, "sources[0].kind"),
        ({"sources": [{"name": "a", "kind": "feed"}]}, "sources[0].url"),
        ({"sources": [{"name": "a", "kind": "feed", "url": "x", "channel": "y"}]}, "sources[0].channel"),
        ({"sources": [{"kind": "qq-hot"}]}, "sources[0].name"),
        ({"sources": [{"name": "a", "kind": "feed", "url": "x", "use_content": "yes"}]}, "sources[0].use_content"),
        ({"sources": [{"name": "a", "kind": "feed", "url": "x", "use_content": 1}]}, "sources[0].use_content"),
        ({"sources": [{"name": "a", "kind": "qq-hot", "use_content": True}]}, "sources[0].use_content"),
        ({"sources": [{"name": "a", "kind": "qq-hot"}, {"name": "a", "kind": "qq-hot"}]}, "sources"),
    ],
)
def test_mistakes_are_refused_naming_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config(data, path="config.toml")
    assert info.value.key == key
    assert key.split("[")[0].split(".")[-1] in str(info.value)


def test_use_content_is_a_feed_option_off_by_default() -> None:
    cfg = build_config(
        {
            "sources": [
                {"name": "full", "kind": "feed", "url": "https://example.org/f.xml", "use_content": True},
                {"name": "plain", "kind": "feed", "url": "https://example.org/g.xml"},
                {"name": "hot", "kind": "qq-hot"},
            ]
        }
    )
    assert cfg.source("full").use_content is True and "use_content" not in cfg.source("full").extra
    assert cfg.source("plain").use_content is False and cfg.source("hot").use_content is False
    with pytest.raises(ConfigError) as wrong_kind:
        build_config({"sources": [{"name": "a", "kind": "sitemap", "url": "x", "use_content": True}]})
    assert str(wrong_kind.value) == "sources[0].use_content is only for kind 'feed', not 'sitemap'"
    with pytest.raises(ConfigError) as wrong_type:
        build_config({"sources": [{"name": "a", "kind": "feed", "url": "x", "use_content": "true"}]})
    assert str(wrong_type.value) == "sources[0].use_content must be bool, not 'true'"


def test_unreadable_or_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[http\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="no source named"):
        build_config({}).source("x")


def test_the_shipped_config_is_valid() -> None:
    cfg = load_config(Path(__file__).resolve().parents[1] / "config.toml")
    assert {s.kind for s in cfg.sources} >= {"qq-channel", "qq-hot", "urls"}
