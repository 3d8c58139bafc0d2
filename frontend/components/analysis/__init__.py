"""An analysis result (`analyze` task) as people like to read it.

Every figure comes from the whole file: per-column statistics, for numeric columns a
histogram whose counts the backend took over every row, for date, date-time and time
columns the range they span. The preview is only the first rows, so nothing is ever drawn
from it.

The pure text of it needs no Streamlit: `labels` (zh-TW names of codes), `values` (one
value as text), `tables` (the summary, preview, date-range and histogram frames) and
`warnings`. The page is drawn by `charts` and `view` (`render_analysis`). This package
re-exports nothing, so that importing one of the pure modules does not import Streamlit.
"""
