"""``jianbao serve``: Atom / JSON feeds, OPML, an image proxy and a small reader over the database.

Starlette (ASGI, the httpx family) + Jinja2 templates + uvicorn; reads go through :mod:`storage`
on read-only connections, image fetches through :class:`ingest.fetch.Fetcher`. Build the app with
:func:`serve.app.create_app`.
"""
