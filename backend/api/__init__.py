"""All routers, mounted once by the app factory."""

from backend.api.routes import health_router, router
from backend.api.ws import router as ws_router

routers = [health_router, router, ws_router]
