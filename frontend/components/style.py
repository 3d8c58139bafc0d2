"""Small visual adjustments shared by every page."""

from __future__ import annotations

import streamlit as st

_CSS = """
<style>
</style>
"""


def apply_style() -> None:
    st.html(_CSS)
