"""Small pages in the shape the real sites serve, built per test so each can vary ids and text.

``wechat_page`` mirrors a raw 2022+ article (hidden ``#js_content``, lazy ``data-src`` images, ids and
``var ct`` in scripts); ``qq_page`` a current ``news.qq.com/rain/a/{id}`` page whose article lives only
in ``window.DATA``. The fixtures in ``fixtures/`` cover every structure; these exist so end-to-end
tests can serve hundreds of distinct articles.
"""

from __future__ import annotations

import json
from datetime import datetime

from parsers.article import SHANGHAI

BIZ = "MzA4NjU0NjUxNg=="


def wechat_ids(n: int) -> dict[str, str]:
    return {"biz": BIZ, "mid": str(2650000000 + n), "idx": "1", "sn": f"{n:032x}"}


def wechat_long_url(n: int, *, scheme: str = "https") -> str:
    ids = wechat_ids(n)
    return (
        f"{scheme}://mp.weixin.qq.com/s?__biz={ids['biz']}&mid={ids['mid']}&idx=1&sn={ids['sn']}&chksm=abc&scene=21#rd"
    )


def wechat_page(
    n: int,
    *,
    title: str | None = None,
    paragraphs: list[str] | None = None,
    account: str = "测试公众号",
    author: str = "张三",
    ct: int = 1730939508,
    images: int = 2,
) -> str:
    ids = wechat_ids(n)
    title = title or f"第{n}篇：测试文章标题"
    paragraphs = paragraphs or [
        f"这是第{n}篇文章的正文，讲述一个关于剪报的故事。",
        "第二段说明了更多细节，包括数字 2025 和英文 jianbao。",
    ]
    body = "".join(f"<p><span>{p}</span></p>" for p in paragraphs)
    body += "".join(
        f'<p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/mmbiz_jpg/{n}x{i}/640?wx_fmt=jpeg&amp;from=appmsg" '
        f'data-type="jpeg" data-w="1080"></p>'
        for i in range(images)
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title></title>
<meta property="og:title" content="{title}">
<meta property="og:url" content="http://mp.weixin.qq.com/s?__biz={ids["biz"]}&amp;mid={ids["mid"]}&amp;idx=1&amp;sn={ids["sn"]}#rd">
<meta property="og:description" content="第{n}篇的摘要">
<meta property="og:image" content="https://mmbiz.qpic.cn/mmbiz_jpg/{n}cover/0?wx_fmt=jpeg">
</head><body id="activity-detail" class="zh_CN">
<div class="rich_media_area_primary"><div id="img-content" class="rich_media_wrp">
<h1 class="rich_media_title" id="activity-name">{title}</h1>
<div id="meta_content" class="rich_media_meta_list">
<span class="rich_media_meta rich_media_meta_text" id="js_author_name">{author}</span>
<span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a id="js_name">{account}</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em></div>
<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden; opacity: 0;">{body}</div>
<div id="js_pc_qr_code"><p>微信扫一扫<br>关注该公众号</p></div>
</div></div>
<script>
var nickname = htmlDecode("{account}");
var biz = "{ids["biz"]}" || "";
var mid = "{ids["mid"]}" || "";
var idx = "1" || "";
var sn = "{ids["sn"]}" || "";
var ct = "{ct}";
var msg_title = '{title}'.html(false);
var msg_desc = htmlDecode("第{n}篇的摘要");
var msg_cdn_url = "https://mmbiz.qpic.cn/mmbiz_jpg/{n}cover/0?wx_fmt=jpeg";
</script></body></html>"""


def qq_id(n: int) -> str:
    return f"20250207A{n:05d}00"


def qq_page(n: int, *, title: str | None = None, text: str | None = None, media: str = "测试媒体") -> str:
    title = title or f"腾讯新闻第{n}条"
    text = text or f"这是腾讯新闻第{n}条的正文内容。"
    content = f"<p>{text}</p><!--IMG_0--><p>第二段。</p>"
    data = {
        "article_id": qq_id(n),
        "title": title,
        "desc": f"第{n}条摘要",
        "media": media,
        "pubtime": datetime(2025, 2, 7, 18, 39, 14, tzinfo=SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "atype": "0",
        "article_type": "0",
        "shareImg": f"https://inews.gtimg.com/om_ls/cover{n}/0",
        "tags": [{"tag_id": "1", "tag_word": "剪报"}, "测试"],
        "originContent": {"text": content},
        "originAttribute": {
            "IMG_0": {
                "url": f"https://inews.gtimg.com/om_bt/img{n}/641",
                "imgurl641": f"https://inews.gtimg.com/om_bt/img{n}/641",
                "imgurl1000": f"https://inews.gtimg.com/om_bt/img{n}/1000",
                "desc": "",
            }
        },
    }
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_腾讯新闻</title></head>
<body><div id="root"></div><script>window.DATA = {payload}</script></body></html>"""


def as_bytes(page: str) -> bytes:
    return page.encode("utf-8")
