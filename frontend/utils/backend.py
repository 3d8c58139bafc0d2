"""This session's backend: the API client shared by every session with the same URL and
key, and the backend facts (config, vocabulary) cached across sessions. The Streamlit
caching glue around `frontend.utils.api_client`, which itself knows nothing of Streamlit.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from frontend.utils.api_client import APIClient
from frontend.utils.config import get_settings
from frontend.utils.errors import AppError
from frontend.utils.session_state import AppSessionState
from frontend.utils.vocabulary import Vocabulary

logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner=False, max_entries=16)
def get_api_client(base_url: str, api_key: str) -> APIClient:
    """One client per (base URL, API key), shared by every session that uses them."""
    settings = get_settings()
    return APIClient(
        base_url, api_key, timeout=(settings.connect_timeout_s, settings.read_timeout_s)
    )


def current_client() -> APIClient:
    """The shared client for this session's URL and key; raises AppError(invalid_url)."""
    state = AppSessionState()
    return get_api_client(state.api_base_url, state.api_key)


@st.cache_data(ttl=30, show_spinner=False, max_entries=16)
def _cached_config(base_url: str, api_key: str) -> dict[str, Any]:
    return get_api_client(base_url, api_key).get_config()


def backend_config() -> dict[str, Any]:
    """GET /api/config (upload limits, ...), shared for 30 s by sessions with the same key."""
    state = AppSessionState()
    return _cached_config(state.api_base_url, state.api_key)


def clear_connection_caches() -> None:
    _cached_config.clear()


def backend_vocabulary() -> Vocabulary:
    """The backend's labels for this session's backend; ``{}`` (every value shown as it is)
    when they cannot be had."""
    try:
        return current_client().vocabulary()
    except AppError as exc:
        logger.info("No vocabulary from the backend: %s", exc.code)
        return {}
