"""Tornado's chat demo on squall: long polling and WebSockets over one pub/sub channel."""
