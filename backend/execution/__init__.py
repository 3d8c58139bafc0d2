"""Running jobs: supervision of the job's child process, the local and Celery runners, upkeep."""
