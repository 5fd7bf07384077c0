"""How well the generic path reads real portal pages: body F1, image precision, title, minute.

Run by hand:  .venv/bin/python bench/eval_portals.py [--gne] [--show PAGE]

The pages are ../shared/corpus/web (not in the project). The facts below were written by reading each
page as a reader sees it: its title, the publish time shown next to it (to the minute; a date alone
where the page shows only a date), the first and the last sentence of the article, and a pattern
matching the article's own images with how many there are. The reference text of an article is the
page's visible text from its first sentence to its last; body F1 is a bag-of-characters F1 between
that and the plain text of the body we store (each CJK character one token, each ASCII word one).

Image precision = share of the images we keep that match the page's article-image pattern; image
recall = share of the article's images we keep. ``--gne`` adds GeneralNewsExtractor's numbers
(pip install gne; never a jianbao dependency) on the same facts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from parsers import parse  # noqa: E402
from parsers.decode import decode_html  # noqa: E402
from parsers.errors import JianbaoError  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "web"


@dataclass(frozen=True)
class Facts:
    url: str  # the page's address (its own when it records one; else one of its site's shape)
    title: str
    minute: str  # "YYYY-MM-DD HH:MM", or "YYYY-MM-DD" where the page shows a date only
    first: str
    last: str
    images: str  # regex matching the article's own images
    n_images: int


PAGES: dict[str, Facts] = {
    "163-3.html": Facts(
        "https://www.163.com/news/article/EOAJ0K3D0001899O.html",
        '奖金711万元！"中国诺贝尔奖"首位获奖女性啥来头?',
        "2019-09-08 00:20",
        "（原标题：单项奖金100万美元",
        "人民的生活更幸福!”",
        r"cms-bucket\.ws\.126\.net/2019/09/08/\w+\.png$",  # the ?imageView ones are thumbnails of other stories
        8,
    ),
    "163-5.html": Facts(
        "https://www.163.com/news/article/EO8L1J2R0001875P.html",
        "女警打百个电话遭停机 评:运营商识别诈骗智商感人",
        "2019-09-07 16:28",
        "（原标题：民警电话遭停机",
        "在已有技术手段下尽量避免误伤。",
        r"cms-bucket\.ws\.126\.net/2019/09/07/1161fe",
        1,
    ),
    "163-9.html": Facts(
        "https://dy.163.com/article/EFBV8U2G0524D2T4.html",
        "5月20日至31日，京沪高速无锡至江阴大桥至广陵枢纽段封闭！",
        "2019-05-17",
        "京沪高速施工就将进入第二阶段",
        "平安出行，安全到家。",
        r"^https?://crawl\.ws\.126\.net/img/",
        9,
    ),
    "baijiahao-1.html": Facts(
        "https://baijiahao.baidu.com/s?id=1646776546716434312",
        "英国美女在殡仪馆工作太痛苦，转行当美人鱼！每小时收入近千元",
        "2019-10-08 12:00",
        "英国汉普郡贝辛斯托克的一位女士",
        "她还将飞往埃及参加国际决赛。",
        r"pics\d\.baidu\.com/feed/",
        7,
    ),
    "cjn-1.html": Facts(
        "http://news.cjn.cn/sywh/202010/t3640478.htm",
        "外媒眼中的武汉长假：蓬勃发展，欢声笑语",
        "2020-10-04 20:30",
        "长江网10月4日讯",
        "今年中国经济增速将达2%。",
        r"/W02020100475394",
        4,
    ),
    "hexun-1.html": Facts(
        "http://stock.hexun.com/2019-09-26/198730063.html",
        "交通运输部：着力打造京津冀区域综合立体交通网络",
        "2019-09-26 10:56",
        "据财联社9月26日消息",
        "基本实现“1.5小时交通圈”。",
        r"^$",
        0,
    ),
    "ifeng-1.html": Facts(
        "https://news.ifeng.com/c/7rtKNyg6PU9",
        "女童眼睛被塞几十片纸，“无法用科学解释”",
        "2019-11-25 16:04",
        "7岁小花（化名）“眼睛被塞纸”事件",
        "学校还多次组织观看了校园欺凌教育片。",
        r"^https?://x0\.ifengimg\.com/res/2019/",  # d.ifengimg.com/w121_h75 is the share thumbnail
        8,
    ),
    "people-1.html": Facts(
        "http://culture.people.com.cn/n1/2019/0615/c1013-31158245.html",
        "女儿出嫁，郑板桥画了几笔兰花当嫁妆",
        "2019-06-15 08:18",
        "父亲的教诲像一盏灯",
        "字里行间都是对儿子的爱。",
        r"/NMediaFile/2019/0614/",
        2,
    ),
    "sina-2.html": Facts(
        "https://finance.sina.com.cn/roll/2018-12-28/doc-ihqfskcn2160999.shtml",
        '60万"12306账号"外泄? 中铁总辟谣称消息不实',
        "2018-12-28 19:55",
        "新京报快讯（记者 裴剑飞）",
        "避免非正常渠道购票带来的风险。",
        r"^$",
        0,
    ),
    "sina-4.html": Facts(
        "https://tech.sina.com.cn/t/2019-09-11/doc-iicezzrq4972166.shtml",
        "苹果发布新iPhone 11：64GB售5499元 256GB售6799元",
        "2019-09-11 01:53",
        "新浪科技讯 北京时间9月11日凌晨消息",
        "实现轻松换新iPhone。(李楠)",
        r"n\.sinaimg\.cn/tech/transform/",
        3,
    ),
    "stcn-1.html": Facts(
        "http://company.stcn.com/2019/0926/15397946.shtml",
        "午间公告：天奇股份中标广汽丰田项目；运达股份中标7亿元项目",
        "2019-09-26 12:11",
        "证券时报e公司讯",
        "拟1079.6万元收购控股子公司日本伊戈尔少数股权。",
        r"^$",
        0,
    ),
    "thepaper-2.html": Facts(
        "https://www.thepaper.cn/newsDetail_forward_4157364",
        "定了！广州南沙邮轮母港即将开通！地铁直达+无敌免...",
        "2019-08-13 14:07",
        "本文原标题：《定了！",
        "开始搓搓手了！！！",
        r"image\.thepaper\.cn/www/image/27/132/",  # 17 in the text, 6 of them thin divider bars (114 px wide)
        11,
    ),
    "thepaper-4.html": Facts(
        "https://www.thepaper.cn/newsDetail_forward_4157364",
        "定了！广州南沙邮轮母港即将开通！地铁直达+无敌免...",
        "2019-08-13 14:07",
        "本文原标题：《定了！",
        "开始搓搓手了！！！",
        r"image\.thepaper\.cn/www/image/27/132/",  # 17 in the text, 6 of them thin divider bars (114 px wide)
        11,
    ),
    "toutiao-4.html": Facts(
        "https://www.toutiao.com/a6763100927373640206/",
        "较强冷空气来袭 全国多地开启“抖抖抖”模式",
        "2019-11-25 10:37",
        "综合消息，近日，较强冷空气袭击多地",
        "雨天出行注意交通安全。",
        r"pstatp\.com/large/pgc-image/RiHqbHC87fBWyk",
        1,
    ),
    "zsnews-1.html": Facts(
        "http://dqb.zsnews.cn/news/2019/03/06/5c7f7d82.html",
        "顺德区大良街道党工委委员潘卓辉一行到众创金融街开展调研工作",
        "2019-03-06",
        "2019年2月27日下午，佛山顺德区",
        "为中山经济发展提供创新驱动力。",
        r"/uploads/remote/2019/03/06/",
        3,
    ),
}

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def reference_text(html: str, facts: Facts) -> str:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    text = tree.body.text(separator="\n") if tree.body is not None else ""
    start = text.find(facts.first)
    end = text.find(facts.last, max(start, 0))
    if start < 0 or end < 0:
        raise SystemExit(f"facts do not match the page: {facts.first!r} / {facts.last!r}")
    return text[start : end + len(facts.last)]


def plain(markdown: str) -> str:
    return _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", markdown))


def f1(got: str, want: str) -> tuple[float, float, float]:
    g, w = Counter(_TOKEN.findall(got)), Counter(_TOKEN.findall(want))
    common = sum((g & w).values())
    if not common:
        return 0.0, 0.0, 0.0
    p, r = common / sum(g.values()), common / sum(w.values())
    return 2 * p * r / (p + r), p, r


@dataclass
class Row:
    name: str
    f1: float
    precision: float
    recall: float
    img_precision: float | None
    img_recall: float | None
    title_ok: bool
    minute_ok: bool
    got_title: str
    got_minute: str


def score(name: str, facts: Facts, ref: str, body: str, images: list[str], title: str, minute: str) -> Row:
    f, p, r = f1(body, ref)
    own = [u for u in images if re.search(facts.images, u)] if facts.n_images else []
    img_p = len(own) / len(images) if images else None
    # capped: the pattern may also match decorations the count leaves out (thepaper's divider bars)
    img_r = min(1.0, len(set(own)) / facts.n_images) if facts.n_images else None
    want_minute = facts.minute if len(facts.minute) > 10 else facts.minute + " 00:00"
    return Row(name, f, p, r, img_p, img_r, title == facts.title, minute == want_minute, title, minute)


def run_jianbao(html: bytes, facts: Facts) -> tuple[str, list[str], str, str, Any]:
    try:
        a = parse(html, facts.url)
    except JianbaoError as err:
        return "", [], "", "", err
    minute = a.published.strftime("%Y-%m-%d %H:%M") if a.published else ""
    return plain(a.body), list(a.images), a.title, minute, a


def run_gne(html: str, facts: Facts) -> tuple[str, list[str], str, str]:
    from urllib.parse import urljoin

    from gne import GeneralNewsExtractor

    r = GeneralNewsExtractor().extract(html, host=facts.url)
    raw = (r.get("publish_time") or "").replace("T", " ").replace("年", "-").replace("月", "-").replace("日", " ")
    m = re.search(r"(\d{4})-(\d{1,2})-(\d{1,2})\s*(?:(\d{1,2}):(\d{2}))?", raw)
    minute = ""
    if m:
        y, mo, d, h, mi = m.groups()
        minute = f"{y}-{int(mo):02d}-{int(d):02d} {int(h or 0):02d}:{mi or '00'}"
    images = [urljoin(facts.url, u) for u in r.get("images") or []]
    return r.get("content") or "", images, r.get("title") or "", minute


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:5.2f}"


def report(label: str, rows: list[Row]) -> None:
    print(f"\n{label}")
    print(f"{'page':<18} {'F1':>5} {'prec':>5} {'rec':>5} {'imgP':>5} {'imgR':>5} title minute")
    for r in rows:
        t = "ok" if r.title_ok else f"NO {r.got_title[:30]!r}"
        m = "ok" if r.minute_ok else f"NO {r.got_minute!r}"
        print(
            f"{r.name:<18} {r.f1:5.2f} {r.precision:5.2f} {r.recall:5.2f} {fmt(r.img_precision)} "
            f"{fmt(r.img_recall)} {t:<6} {m}"
        )
    n = len(rows)
    imgs = [r.img_precision for r in rows if r.img_precision is not None]
    print(
        f"{'mean':<18} {sum(r.f1 for r in rows) / n:5.2f} {'':>5} {'':>5} "
        f"{(sum(imgs) / len(imgs)) if imgs else 0:5.2f} {'':>5} "
        f"{sum(r.title_ok for r in rows)}/{n}  {sum(r.minute_ok for r in rows)}/{n}"
    )
    passing = sum(
        r.f1 >= 0.95 and (r.img_precision is None or r.img_precision >= 0.9) and r.title_ok and r.minute_ok
        for r in rows
    )
    print(f"pages meeting every target (F1 >= 0.95, images >= 90% own, title, minute): {passing}/{n}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gne", action="store_true", help="also score GeneralNewsExtractor (when installed)")
    ap.add_argument("--show", help="print our body and metadata for one page")
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"no corpus at {CORPUS}")
    ours, theirs = [], []
    for name, facts in PAGES.items():
        data = (CORPUS / name).read_bytes()
        html = decode_html(data)
        ref = reference_text(html, facts)
        body, images, title, minute, article = run_jianbao(data, facts)
        ours.append(score(name, facts, ref, body, images, title, minute))
        if args.show == name:
            print(article.to_dict() if hasattr(article, "to_dict") else article)
        if args.gne:
            try:
                theirs.append(score(name, facts, ref, *run_gne(html, facts)))
            except ImportError:
                args.gne = False
                print("gne is not installed: skipping it")
    report("jianbao (parsers.parse)", ours)
    if theirs:
        report("GeneralNewsExtractor", theirs)


if __name__ == "__main__":
    main()
