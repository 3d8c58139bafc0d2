"""FastAPI task service: uploads, file analysis, background jobs with live progress."""

__version__ = "0.1.0"
