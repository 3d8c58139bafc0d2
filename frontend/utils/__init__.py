"""Frontend helpers that know nothing of page layout: API client, errors, session state."""
