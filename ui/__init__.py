"""The web chat: `layout.py` builds the page, `handlers.py` answers its events,
`render.py` turns answers into HTML, and `server.py` runs it (`newsbot serve`)."""
