"""Small visual adjustments shared by every page.

Streamlit's file uploader has English text built in ("Upload", "10MB per file") and no
option to change it. The rules below paint zh-TW text over it; they depend on Streamlit's
data-testid attributes, so check the upload page after upgrading Streamlit. If they stop
matching, the English text simply shows again; nothing breaks.
"""

from __future__ import annotations

import streamlit as st

_CSS = """
<style>
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"]
  [data-testid="stMarkdownContainer"] p {
  font-size: 0;
}
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"]
  [data-testid="stMarkdownContainer"] p::after {
  content: "選擇檔案";
  font-size: 0.875rem;
}
[data-testid="stFileUploaderDropzoneInstructions"] span {
  font-size: 0;
}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "或把檔案拖放到這裡";
  font-size: 0.875rem;
}
</style>
"""


def apply_style() -> None:
    st.html(_CSS)
