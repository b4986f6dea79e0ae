"""Route modules, one per resource, assembled under /api/v1."""

from fastapi import APIRouter

from service.routes import analysis, meta, specs, sweeps

api_router = APIRouter()
api_router.include_router(sweeps.router)
api_router.include_router(analysis.router)
api_router.include_router(meta.router)
api_router.include_router(specs.router)
health_router = meta.health_router
