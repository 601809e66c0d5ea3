"""The web chat: `ui.app.build_app(bot)` builds it, `ui.app.serve(bot)` runs it."""
