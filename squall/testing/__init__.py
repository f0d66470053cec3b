"""Test utilities for squall applications (Tornado's ``tornado.testing`` API)."""

from __future__ import annotations
