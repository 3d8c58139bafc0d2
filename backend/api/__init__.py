"""The HTTP and WebSocket API; its routers are gathered in `backend.api.routes`."""
