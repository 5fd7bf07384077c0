"""End to end: `wechat-account` sources through a loopback stand-in for weread.qq.com and mp.weixin.qq.com.

The stand-in (:class:`FakeWeRead`) keeps a shelf, a session that can be renewed, accounts listed in
groups, and scripted answers (-2041, expired logins); the local server records every request, so the
tests can assert that the session's cookies reach weread.qq.com and nothing else.
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from ingest import weread
from parsers.weread import CONFIRM_URL
from tests.conftest import Env
from tests.localserver import Recorded, Reply
from tests.pages import qq_id, qq_page, wechat_long_url, wechat_page

WR = "weread.qq.com"
WX = "mp.weixin.qq.com"
QQ = "news.qq.com"
VID = "31415926"
SKEY, RT = "SK-secret-1", "RT-secret-1"
SECRETS = (SKEY, RT, "SK-secret-2", "SK-env-1")


def biz(number: int) -> str:
    return base64.b64encode(str(number).encode()).decode()


ACCOUNT_A, ACCOUNT_B = 3070376195, 3070376196
BOOK_A, BOOK_B = f"MP_WXS_{ACCOUNT_A}", f"MP_WXS_{ACCOUNT_B}"


def reader_url(book: str) -> str:
    return f"https://weread.qq.com/web/mp/reader/r{book[-6:]}"


def short_id(n: int) -> str:
    return f"art{n}_x"  # WeRead writes it art{n}~x


class FakeWeRead:
    """weread.qq.com as the crawl sees it, plus the article pages on mp.weixin.qq.com."""

    def __init__(self, env: Env, accounts: dict[str, list[list[int]]], *, page: int = 2) -> None:
        self.env = env
        self.accounts = accounts
        self.page = page
        self.skeys = {SKEY}
        self.rts = {RT}
        self.renewed_to = "SK-secret-2"
        self.shelf: set[str] = set()
        self.added: list[str] = []
        # (book, offset) -> answers played in order before the real list
        self.scripted: dict[tuple[str, int], list[dict[str, object]]] = {}
        self.login_polls = 0
        s = env.server
        s.route(WR, "/web/mp/articles", self._articles)
        s.route(WR, "/web/shelf/sync", self._shelf_sync)
        s.route(WR, "/mp/shelf/addToShelf", self._add)
        s.route(WR, "/web/login/renewal", self._renew)
        s.route(WR, "/api/auth/getLoginUid", Reply.json({"uid": "uid-0042"}))
        s.route(WR, "/api/auth/getLoginInfo", self._login_info)
        s.route(WR, "/web/login/session/init", self._session_init)
        for groups in accounts.values():
            for group in groups:
                for n in group:
                    s.route(WX, f"/s/{short_id(n)}", Reply.html(wechat_page(n)))

    @staticmethod
    def cookies(r: Recorded) -> dict[str, str]:
        out = {}
        for part in r.headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name:
                out[name] = value
        return out

    def _logged_in(self, r: Recorded) -> bool:
        c = self.cookies(r)
        return c.get("wr_vid") == VID and c.get("wr_skey") in self.skeys

    def _articles(self, r: Recorded) -> Reply:
        if not self._logged_in(r):
            return Reply.json({"errCode": -2012, "errMsg": "登录超时"}, status=401)
        q = parse_qs(urlsplit(r.path).query)
        book, offset = q["bookId"][0], int(q["offset"][0])
        if r.headers.get("referer") != reader_url(book):
            # what users report of list calls made outside the account's reader page
            return Reply.json({"errCode": -2041, "errMsg": "context"})
        script = self.scripted.get((book, offset))
        if script:
            return Reply.json(script.pop(0))
        groups = self.accounts.get(book, [])[offset : offset + self.page]
        reviews = []
        for i, group in enumerate(groups):
            t = 1764662400 - (offset + i) * 86400
            subs = [
                {
                    "review": {
                        "reviewId": f"{book}_art{n}~x",
                        "createTime": t,
                        "mpInfo": {
                            "title": f"第{n}篇：测试文章标题",
                            "originalId": f"art{n}~x",
                            "pic_url": f"https://mmbiz.qpic.cn/mmbiz_jpg/{n}cover/0",
                            "content": f"第{n}篇的摘要",
                            "time": t,
                        },
                    }
                }
                for n in group
            ]
            reviews.append({"createTime": t, "subReviews": subs})
        return Reply.json({"reviews": reviews})

    def _shelf_sync(self, r: Recorded) -> Reply:
        if not self._logged_in(r):
            return Reply.json({"errCode": -2012})
        books = [
            {
                "bookId": b,
                "title": "公众号",
                "deepLink": f"weread://mpReader?bookId={b}&v={reader_url(b).rsplit('/', 1)[1]}",
            }
            for b in sorted(self.shelf)
        ]
        return Reply.json({"synckey": 1, "books": [*books, {"bookId": "CB_book", "title": "一本书"}]})

    def _add(self, r: Recorded) -> Reply:
        if not self._logged_in(r):
            return Reply.json({"errCode": -2012})
        for book in r.json()["bookIds"]:
            self.shelf.add(book)
            self.added.append(book)
        return Reply.json({"succ": 1})

    def _renew(self, r: Recorded) -> Reply:
        c = self.cookies(r)
        if c.get("wr_rt") not in self.rts or c.get("wr_vid") != VID:
            return Reply.json({"errCode": -2012})
        self.skeys = {self.renewed_to}
        return Reply(
            200,
            b'{"succ": 1}',
            {
                "Content-Type": "application/json",
                "Set-Cookie": f"wr_skey={self.renewed_to}; Path=/; Domain=.weread.qq.com",
            },
        )

    def _login_info(self, r: Recorded) -> Reply:
        assert parse_qs(urlsplit(r.path).query)["uid"] == ["uid-0042"]
        self.login_polls += 1
        if self.login_polls == 1:
            return Reply.json({"succeed": 0, "logicCode": "WAITING_SCAN"})
        return Reply.json({"succeed": 1, "webLoginVid": int(VID), "accessToken": SKEY, "refreshToken": RT})

    def _session_init(self, r: Recorded) -> Reply:
        body = r.json()
        if (body.get("vid"), body.get("skey"), body.get("rt")) != (VID, SKEY, RT):
            return Reply.json({"errCode": -2012})
        return Reply(200, b'{"succ": 1}', {"Content-Type": "application/json", "Set-Cookie": "wr_gid=271828; Path=/"})

    # -- what was asked ------------------------------------------------------------------------------

    def list_calls(self) -> list[tuple[str, int]]:
        out = []
        for r in self.env.server.requests_to(WR, "/web/mp/articles"):
            q = parse_qs(urlsplit(r.path).query)
            out.append((q["bookId"][0], int(q["offset"][0])))
        return out

    def article_fetches(self) -> list[str]:
        return [r.path for r in self.env.server.requests_to(WX) if r.path.startswith("/s/")]


ACCOUNT_SOURCE = """
[[sources]]
name = "{name}"
kind = "wechat-account"
biz = "{biz}"
"""
QQ_SOURCE = """
[[sources]]
name = "qq"
kind = "urls"
path = "urls.txt"
"""


def configure(env: Env, *sources: str, wechat: str = "list_interval = 0") -> None:
    env.write_config(sources="[wechat]\n" + wechat + "\n" + "".join(sources))


def account(name: str, number: int) -> str:
    return ACCOUNT_SOURCE.format(name=name, biz=biz(number))


def login_with_cookie_file(env: Env, *, skey: str = SKEY, rt: str = RT) -> None:
    (env.path / "cookies.txt").write_text(f"Cookie: wr_vid={VID}; wr_skey={skey}; wr_rt={rt}; pgv_pvid=other\n")
    result = env.invoke("login", "weread", "--cookie-file", "cookies.txt")
    assert result.code == 0, result.err


def session_file(env: Env) -> Path:
    return env.path / weread.SESSION_FILE


def assert_no_secret_leaked(env: Env, *outputs: str) -> None:
    """Cookies went to weread.qq.com only, and no secret is in the database or any output."""
    for r in env.server.requests:
        if r.host != WR:
            assert "wr_" not in r.headers.get("cookie", ""), (r.host, r.path)
            assert not any(s in repr(r.headers) or s.encode() in r.body for s in SECRETS), (r.host, r.path)
    if env.db.exists():
        con = sqlite3.connect(env.db)
        try:
            tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
            dump = ""
            for table in tables:
                try:
                    dump += repr(con.execute(f'select * from "{table}"').fetchall())
                except sqlite3.OperationalError:
                    continue  # a contentless FTS table keeps no text to read
        finally:
            con.close()
        raw = b"".join(p.read_bytes() for p in env.db.parent.glob(env.db.name + "*"))
        assert not any(s in dump or s.encode() in raw for s in SECRETS)
    for text in outputs:
        assert not any(s in text for s in SECRETS)


@pytest.fixture
def fake(env: Env, monkeypatch: pytest.MonkeyPatch) -> FakeWeRead:
    monkeypatch.setattr(weread, "RISK_RETRY_WAIT", 0.0)
    monkeypatch.setattr(weread, "POLL_PAUSE", 0.0)
    monkeypatch.delenv(weread.ENV_COOKIE, raising=False)
    return FakeWeRead(env, {BOOK_A: [[1, 2], [3], [4, 5], [6], [7]], BOOK_B: [[11], [12]]})


# --- login ------------------------------------------------------------------------------------------


def test_login_from_a_cookie_file_then_status_then_logout(env: Env, fake: FakeWeRead) -> None:
    configure(env)
    (env.path / "cookies.txt").write_text(
        f".weread.qq.com\tTRUE\t/\tTRUE\t1893456000\twr_vid\t{VID}\n"
        f".weread.qq.com\tTRUE\t/\tTRUE\t1893456000\twr_skey\t{SKEY}\n"
        f".weread.qq.com\tTRUE\t/\tTRUE\t1893456000\twr_rt\t{RT}\n"
        ".qq.com\tTRUE\t/\tFALSE\t1893456000\tpgv_pvid\tnot-weread\n"
    )
    login = env.invoke("login", "weread", "--cookie-file", "cookies.txt")
    assert login.code == 0, login.err
    assert "logged in; 0 accounts on the shelf" in login.out
    path = session_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    assert saved["cookies"] == {"wr_vid": VID, "wr_skey": SKEY, "wr_rt": RT}  # nothing but WeRead's
    assert saved["origin"] == "cookie-file"

    status = env.invoke("login", "weread", "--status")
    assert status.code == 0 and "weread: logged in" in status.out
    assert "weread session: logged in" in status.out

    out = env.invoke("logout", "weread")
    assert out.code == 0 and "session removed" in out.out
    assert not path.exists()
    gone = env.invoke("login", "weread", "--status")
    assert gone.code == 1 and "not logged in" in gone.err
    assert_no_secret_leaked(env, login.out, login.err, status.out, status.err)


def test_a_cookie_file_that_is_not_logged_in_saves_nothing(env: Env, fake: FakeWeRead) -> None:
    configure(env)
    (env.path / "cookies.txt").write_text(f"wr_vid={VID}; wr_skey=SK-stale; wr_rt=RT-stale")
    result = env.invoke("login", "weread", "--cookie-file", "cookies.txt")
    assert result.code == 1
    assert result.err.strip() == (
        "jianbao: weread: the cookies in cookies.txt are not logged in or expired: run jianbao login weread"
    )
    assert not session_file(env).exists()
    (env.path / "bad.txt").write_text("wr_vid=1")
    bad = env.invoke("login", "weread", "--cookie-file", "bad.txt")
    assert bad.code == 2 and bad.err.strip() == "jianbao: bad.txt: no wr_skey cookie for weread.qq.com"


def _qr_text(url: str) -> str:
    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def test_qr_login_shows_the_code_in_the_terminal_polls_and_saves_the_session(env: Env, fake: FakeWeRead) -> None:
    configure(env)
    result = env.invoke("login", "weread")
    assert result.code == 0, result.err
    confirm = CONFIRM_URL.format(uid="uid-0042")
    assert confirm == "https://weread.qq.com/web/confirm?uid=uid-0042"
    # the terminal shows the QR code of the confirm URL with the uid WeRead gave, not of anything else
    assert _qr_text(confirm) in result.out
    assert _qr_text(CONFIRM_URL.format(uid="uid-0043")) not in result.out
    assert "weread-login.png" in result.err
    assert not (env.path / "weread-login.png").exists()  # used up: removed after the login
    assert fake.login_polls == 2  # waiting, then confirmed
    saved = json.loads(session_file(env).read_text())
    assert saved["cookies"] == {"wr_vid": VID, "wr_skey": SKEY, "wr_rt": RT, "wr_gid": "271828"}
    assert saved["origin"] == "qr"
    assert stat.S_IMODE(session_file(env).stat().st_mode) == 0o600
    assert_no_secret_leaked(env, result.out, result.err)


def test_qr_png_is_written_for_terminals_that_cannot_show_it(tmp_path: Path) -> None:
    from ingest.cli import _show_qr

    png = tmp_path / "code.png"
    _show_qr("https://weread.qq.com/web/confirm?uid=x", png)
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


# --- crawling ---------------------------------------------------------------------------------------


def test_crawl_an_account_over_several_pages_then_a_second_run_lists_one_page(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A))
    login_with_cookie_file(env)
    first = env.invoke("crawl", "-v")
    assert first.code == 0, first.err
    assert "7 stored" in first.out + first.err
    assert fake.added == [BOOK_A]  # followed once
    assert fake.list_calls() == [(BOOK_A, 0), (BOOK_A, 2), (BOOK_A, 4), (BOOK_A, 5)]
    assert sorted(fake.article_fetches()) == sorted(f"/s/{short_id(n)}" for n in range(1, 8))
    rows = env.sql("select title, published, cover, digest from weread_listed where url like '%art3_x'")
    assert rows == [
        ("第3篇：测试文章标题", "2025-12-01T16:00:00+08:00", "https://mmbiz.qpic.cn/mmbiz_jpg/3cover/0", "第3篇的摘要")
    ]
    assert env.sql("select count(*) from articles")[0][0] == 7

    second = env.invoke("crawl")
    assert second.code == 0, second.err
    assert fake.list_calls()[4:] == [(BOOK_A, 0)]  # the newest page brought nothing new
    assert len(fake.article_fetches()) == 7  # no article fetched again
    assert fake.added == [BOOK_A]  # not followed twice
    # the shelf was read by the login's check, before and after the follow, then never again
    assert len(env.server.requests_to(WR, "/web/shelf/sync")) == 3
    assert env.sql("select reader from weread_accounts") == [(reader_url(BOOK_A),)]
    assert env.sql("select count from daily_counts where key = 'weread list'") == [(5,)]
    assert_no_secret_leaked(env, first.out, first.err, second.out, second.err)


def test_a_short_link_and_the_long_link_are_one_article(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A))
    login_with_cookie_file(env)
    assert env.invoke("crawl").code == 0
    ids = dict(env.sql("select url, article_id from article_urls"))
    short = f"https://mp.weixin.qq.com/s/{short_id(3)}"
    env.server.route(WX, "/s", Reply.html(wechat_page(3)))
    again = env.invoke("import", wechat_long_url(3))
    assert again.code == 0, again.err
    assert again.out.startswith(("unchanged", "updated")), again.out
    assert f"#{ids[short]} " in again.out
    assert env.sql("select count(*) from articles")[0][0] == 7


def test_dry_run_lists_an_account_without_fetching_or_writing(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A))
    login_with_cookie_file(env)
    result = env.invoke("crawl", "--dry-run")
    assert result.code == 0, result.err
    lines = [ln for ln in result.out.splitlines() if ln.startswith("[a]")]
    assert len(lines) == 7
    assert lines[0].startswith("[a] 2025-12-02 16:00\thttps://mp.weixin.qq.com/s/art1_x\t第1篇：测试文章标题")
    assert fake.article_fetches() == []
    # WeRead lists an account from its reader page only: even a dry run follows it; the database is not written
    assert fake.added == [BOOK_A]
    for table in ("weread_listed", "weread_accounts", "articles"):
        assert env.sql(f"select count(*) from {table}")[0][0] == 0, table
    assert env.sql("select count(*) from daily_counts where key like 'weread %'") == [(0,)]


def test_risk_control_pauses_only_the_account_sources_and_a_later_run_finishes(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A), account("b", ACCOUNT_B), QQ_SOURCE)
    (env.path / "urls.txt").write_text(f"https://news.qq.com/rain/a/{qq_id(1)}\n")
    env.server.route(QQ, f"/rain/a/{qq_id(1)}", Reply.html(qq_page(1)))
    fake.scripted[(BOOK_A, 2)] = [{"errCode": -2041, "errMsg": "操作频繁"}] * 2
    fake.shelf.add(BOOK_B)
    login_with_cookie_file(env)

    first = env.invoke("crawl", "a", "qq")
    assert first.code == 1
    assert "[a] source failed: listing blocked: weread risk control (-2041)" in first.err
    assert fake.list_calls() == [(BOOK_A, 0), (BOOK_A, 2), (BOOK_A, 2)]  # waited once, tried once more
    assert env.sql("select count(*) from articles where source = 'qq'")[0][0] == 1  # the others went on
    assert env.sql("select count(*) from articles where source = 'wechat'")[0][0] == 3
    until = env.sql("select until from host_state where host = 'weread.qq.com'")
    assert until and until[0][0]

    paused = env.invoke("crawl", "a", "b")
    assert paused.code == 1
    assert "[b] source failed: listing blocked" in paused.err
    assert len(fake.list_calls()) == 3  # nothing asked of WeRead while it cools down

    env.sql_write("update host_state set until = '2020-01-01T00:00:00+00:00' where host = 'weread.qq.com'")
    later = env.invoke("crawl", "a", "b")
    assert later.code == 0, later.err
    # the newest page is known, then the walk picks up at the offset it was cut at
    calls = fake.list_calls()[3:]  # the two sources run side by side
    assert [o for b, o in calls if b == BOOK_A] == [0, 2, 4, 5]
    assert [o for b, o in calls if b == BOOK_B] == [0, 2]
    assert env.sql("select count(*) from articles where source = 'wechat'")[0][0] == 9
    assert env.sql("select resume from weread_accounts where book_id = ?", (BOOK_A,)) == [(None,)]


def test_an_expired_login_is_said_once_the_other_sources_finish_and_the_exit_is_1(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A), account("b", ACCOUNT_B), QQ_SOURCE)
    (env.path / "urls.txt").write_text(f"https://news.qq.com/rain/a/{qq_id(1)}\n")
    env.server.route(QQ, f"/rain/a/{qq_id(1)}", Reply.html(qq_page(1)))
    login_with_cookie_file(env)
    fake.skeys = set()  # WeRead forgot the session
    fake.rts = set()  # and the refresh token with it
    result = env.invoke("crawl")
    assert result.code == 1
    assert result.err.count("weread session expired: run jianbao login weread") == 1
    assert "weread session expired: run jianbao login weread\n" in result.err
    assert env.sql("select count(*) from articles where source = 'qq'")[0][0] == 1
    assert fake.list_calls() == []
    assert len(env.server.requests_to(WR, "/web/login/renewal")) == 1  # tried once, not per source
    stats = env.invoke("stats")
    assert "weread session: expired" in stats.out
    assert_no_secret_leaked(env, result.out, result.err, stats.out)


def test_a_rejected_skey_is_renewed_with_wr_rt_and_the_crawl_goes_on(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("b", ACCOUNT_B))
    login_with_cookie_file(env)
    fake.skeys = {"SK-only-after-renewal"}
    fake.renewed_to = "SK-secret-2"
    result = env.invoke("crawl")
    assert result.code == 0, result.err
    renewals = env.server.requests_to(WR, "/web/login/renewal")
    assert len(renewals) == 1
    assert FakeWeRead.cookies(renewals[0])["wr_rt"] == RT
    saved = json.loads(session_file(env).read_text())
    assert saved["cookies"]["wr_skey"] == "SK-secret-2"
    assert saved["renewed"]
    assert stat.S_IMODE(session_file(env).stat().st_mode) == 0o600
    assert env.sql("select count(*) from articles")[0][0] == 2
    stats = env.invoke("stats")
    assert "weread session: logged in" in stats.out and "last renewed 20" in stats.out
    assert "weread accounts: 1 followed, 0 owing older pages; today 2 of 500 list calls, 1 of 10 follows" in stats.out
    as_json = json.loads(env.invoke("stats", "--json").out)["weread"]
    assert as_json["origin"] == "cookie-file" and as_json["renewed"] and as_json["expired"] is None
    assert as_json["accounts"]["list_calls"] == 2
    assert as_json["path"] == str(session_file(env))
    assert_no_secret_leaked(env, result.out, result.err, stats.out)


def test_the_environment_variable_serves_containers_and_is_never_written(
    env: Env, fake: FakeWeRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(env, account("b", ACCOUNT_B))
    fake.skeys = {"SK-env-1"}
    fake.shelf.add(BOOK_B)
    monkeypatch.setenv(weread.ENV_COOKIE, f"wr_vid={VID}; wr_skey=SK-env-1; wr_rt={RT}")
    result = env.invoke("crawl")
    assert result.code == 0, result.err
    assert env.sql("select count(*) from articles")[0][0] == 2
    assert not session_file(env).exists()
    assert_no_secret_leaked(env, result.out, result.err)


def test_follow_per_day_adds_at_most_that_many_accounts_and_says_so_once(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A), account("b", ACCOUNT_B), wechat="list_interval = 0\nfollow_per_day = 1")
    login_with_cookie_file(env)
    result = env.invoke("crawl")
    assert result.code == 0, result.err
    assert len(fake.added) == 1
    assert result.err.count("accounts a day added to the shelf already") == 1
    listed = {book for book, _ in fake.list_calls()}
    assert listed == set(fake.added)


def test_the_daily_cap_on_list_calls_is_shared_across_runs(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A), wechat="list_interval = 0\nlist_daily_limit = 2")
    login_with_cookie_file(env)
    first = env.invoke("crawl")
    assert first.code == 1
    assert "daily limit of 2 is reached" in first.err
    assert len(fake.list_calls()) == 2
    second = env.invoke("crawl")
    assert second.code == 1 and len(fake.list_calls()) == 2


def test_an_account_named_by_one_of_its_articles(env: Env, fake: FakeWeRead) -> None:
    article_source = '\n[[sources]]\nname = "by-article"\nkind = "wechat-account"\narticle = "https://mp.weixin.qq.com/s/oneOfTheirs"\n'
    page = wechat_page(11).replace("MzA4NjU0NjUxNg==", biz(ACCOUNT_B))
    env.server.route(WX, "/s/oneOfTheirs", Reply.html(page))
    configure(env, article_source)
    login_with_cookie_file(env)
    assert env.invoke("crawl").code == 0
    assert env.sql("select biz from wechat_article_biz") == [(biz(ACCOUNT_B),)]
    assert {book for book, _ in fake.list_calls()} == {BOOK_B}
    assert env.invoke("crawl").code == 0
    assert len(env.server.requests_to(WX, "/s/oneOfTheirs")) == 1  # read once, kept


def test_config_needs_exactly_one_of_biz_and_article(env: Env) -> None:
    env.write_config(sources='[[sources]]\nname = "x"\nkind = "wechat-account"\n')
    result = env.invoke("crawl")
    assert result.code == 2 and "needs one of biz or article" in result.err
    env.write_config(sources='[[sources]]\nname = "x"\nkind = "wechat-account"\nbiz = "a"\narticle = "b"\n')
    assert env.invoke("crawl").code == 2


def test_crawl_without_a_session_says_how_to_log_in(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A), account("b", ACCOUNT_B))
    result = env.invoke("crawl")
    assert result.code == 1
    assert result.err.count("no weread session: run jianbao login weread") == 1
    assert env.server.requests_to(WR) == []


# --- the session file on its own ----------------------------------------------------------------------


def test_session_file_is_0600_atomic_and_its_repr_shows_no_cookie(tmp_path: Path) -> None:
    path = tmp_path / weread.SESSION_FILE
    session = weread.Session({"wr_vid": VID, "wr_skey": SKEY, "wr_rt": RT}, "qr")
    weread.save_session(session, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [weread.SESSION_FILE]  # no temporary file left
    assert SKEY not in repr(session) and RT not in repr(session)
    loaded = weread.load_session(path, environ={})
    assert loaded is not None and loaded.cookies["wr_skey"] == SKEY and loaded.path == path
    path.chmod(0o644)
    weread.load_session(path, environ={})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a copy made readable is closed again
    path.write_text("garbage " + SKEY)
    with pytest.raises(weread.SessionError) as info:
        weread.load_session(path, environ={})
    assert SKEY not in str(info.value)


# --- the client on its own ----------------------------------------------------------------------------


def _client(env: Env, monkeypatch: pytest.MonkeyPatch, skey: str = SKEY) -> weread.WeReadClient:
    from ingest.config import load_config

    env.server.apply_env(monkeypatch)
    configure(env)
    config = load_config(env.path / "config.toml")
    session = weread.Session({"wr_vid": VID, "wr_skey": skey, "wr_rt": RT}, "qr")
    return weread.WeReadClient(config, session)


def test_concurrent_rejections_renew_once(env: Env, fake: FakeWeRead, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    client = _client(env, monkeypatch, skey="SK-stale")

    async def run() -> list[bytes]:
        async with client:
            return await asyncio.gather(
                client.list_articles(BOOK_A, 0, reader=reader_url(BOOK_A)),
                client.list_articles(BOOK_B, 0, reader=reader_url(BOOK_B)),
            )

    a, b = asyncio.run(run())
    assert b"art1~x" in a and b"art11~x" in b
    assert len(env.server.requests_to(WR, "/web/login/renewal")) == 1
    assert client.session is not None and client.session.cookies["wr_skey"] == "SK-secret-2"


def test_a_redirect_is_not_followed_and_no_cookie_leaves_weread(
    env: Env, fake: FakeWeRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from ingest.errors import PermanentFetchError

    env.server.route(WR, "/web/shelf/sync", Reply.redirect("https://mp.weixin.qq.com/s/elsewhere"))
    client = _client(env, monkeypatch)

    async def run() -> None:
        async with client:
            await client.shelf_ids()

    with pytest.raises(PermanentFetchError) as info:
        asyncio.run(run())
    assert "not followed" in str(info.value) and SKEY not in str(info.value)
    assert env.server.requests_to(WX) == []
    with pytest.raises(ValueError):
        asyncio.run(client.call("GET", "https://mp.weixin.qq.com/s/x"))


def test_an_old_skey_is_renewed_ahead_of_time_and_a_refusal_then_is_not_the_end(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("b", ACCOUNT_B))
    fake.shelf.add(BOOK_B)
    login_with_cookie_file(env)
    path = session_file(env)

    def age(hours: int) -> None:
        data = json.loads(path.read_text())
        data["created"] = data["renewed"] = f"2020-01-01T{hours:02d}:00:00+00:00"
        path.write_text(json.dumps(data))

    age(0)
    assert env.invoke("crawl").code == 0
    assert len(env.server.requests_to(WR, "/web/login/renewal")) == 1  # asked before WeRead complained
    saved = json.loads(path.read_text())
    assert saved["cookies"]["wr_skey"] == "SK-secret-2" and saved["renewed"] > "2026"

    age(1)
    fake.rts = set()  # the refresh token no longer works, the skey still does
    result = env.invoke("crawl")
    assert result.code == 0, result.err
    assert len(env.server.requests_to(WR, "/web/login/renewal")) == 2
    assert json.loads(path.read_text())["expired"] is None
    assert "expired" not in env.invoke("stats").out


def test_a_qr_code_that_expires_saves_nothing(env: Env, fake: FakeWeRead) -> None:
    configure(env)
    env.server.route(WR, "/api/auth/getLoginInfo", Reply.json({"succeed": 0, "logicCode": "LOGIN_TIMEOUT"}))
    result = env.invoke("login", "weread")
    assert result.code == 1
    assert "QR code expired before it was confirmed" in result.err
    assert not session_file(env).exists()
    assert not (env.path / "weread-login.png").exists()


def test_list_calls_keep_list_interval_apart(env: Env, fake: FakeWeRead, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from ingest.config import load_config

    env.server.apply_env(monkeypatch)
    configure(env, wechat="list_interval = 5")
    config = load_config(env.path / "config.toml")
    now = [1000.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    session = weread.Session({"wr_vid": VID, "wr_skey": SKEY, "wr_rt": RT}, "qr")
    client = weread.WeReadClient(config, session, sleep=sleep, clock=lambda: now[0])

    async def run() -> None:
        async with client:
            await client.list_articles(BOOK_A, 0, reader=reader_url(BOOK_A))
            now[0] += 1.5  # work between two pages
            await client.list_articles(BOOK_A, 2, reader=reader_url(BOOK_A))
            await client.shelf_ids()  # not a list call: not held back by list_interval

    asyncio.run(run())
    assert [round(s, 6) for s in slept if s > 0] == [3.5]
    assert client.list_calls == 2


def test_a_malformed_environment_cookie_is_named_without_its_value(
    env: Env, fake: FakeWeRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(env, account("b", ACCOUNT_B))
    monkeypatch.setenv(weread.ENV_COOKIE, f"wr_vid={VID}; wr_rt={RT}")
    result = env.invoke("crawl")
    assert result.code == 1
    assert "[b] source failed: JIANBAO_WEREAD_COOKIE: no wr_skey cookie for weread.qq.com" in result.err
    assert env.server.requests_to(WR) == []
    assert_no_secret_leaked(env, result.out, result.err)


def test_max_spreads_an_account_backlog_over_runs_and_nothing_is_skipped(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A))
    login_with_cookie_file(env)
    stored = []
    for _ in range(5):
        result = env.invoke("crawl", "--max", "2")
        assert result.code == 0, result.err
        stored.append(env.sql("select count(*) from articles")[0][0])
    assert stored == [2, 4, 6, 7, 7]
    assert sorted(fake.article_fetches()) == sorted(f"/s/{short_id(n)}" for n in range(1, 8))  # each once
    assert env.sql("select resume from weread_accounts") == [(None,)]


def test_errors_never_echo_a_proxy_password_or_a_cookie(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from ingest.config import load_config
    from ingest.errors import FetchError

    env.write_config(extra_http='proxy = "http://jbuser:jbsecret-pw@127.0.0.1:9"')
    config = load_config(env.path / "config.toml")
    session = weread.Session({"wr_vid": VID, "wr_skey": SKEY, "wr_rt": RT}, "qr")

    async def no_wait(seconds: float) -> None:
        pass

    client = weread.WeReadClient(config, session, sleep=no_wait)
    assert {"jbsecret-pw", SKEY, RT} <= set(client._secrets())

    async def run() -> None:
        async with client:
            await client.shelf()

    with pytest.raises(FetchError) as info:
        asyncio.run(run())
    text = f"{info.value} {info.value.reason}"
    assert "jbsecret-pw" not in text and "jbuser" not in text and SKEY not in text


def test_max_pages_bounds_the_list_calls_of_a_run(env: Env, fake: FakeWeRead) -> None:
    configure(env, account("a", ACCOUNT_A) + "max_pages = 2\n")
    login_with_cookie_file(env)
    assert env.invoke("crawl").code == 0
    assert fake.list_calls() == [(BOOK_A, 0), (BOOK_A, 2)]
    assert env.sql("select count(*) from articles")[0][0] == 6  # four groups of the five
    assert env.sql("select resume from weread_accounts") == [(None,)]  # a bound, not a debt


def test_the_session_lives_beside_the_config_it_belongs_to(env: Env, fake: FakeWeRead) -> None:
    sub = env.path / "elsewhere"
    sub.mkdir()
    (sub / "config.toml").write_text((env.path / "config.toml").read_text())
    (env.path / "cookies.txt").write_text(f"wr_vid={VID}; wr_skey={SKEY}; wr_rt={RT}")
    result = env.invoke("--config", "elsewhere/config.toml", "login", "weread", "--cookie-file", "cookies.txt")
    assert result.code == 0, result.err
    assert (sub / weread.SESSION_FILE).exists() and not session_file(env).exists()
    assert env.invoke("--config", "elsewhere/config.toml", "logout", "weread").code == 0
    assert not (sub / weread.SESSION_FILE).exists()
