"""The soak-and-fault run: real uvicorn workers under load, crashed and restarted."""
