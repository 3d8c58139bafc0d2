"""Scale-out tests: API processes and Celery workers as real processes around one Redis."""
