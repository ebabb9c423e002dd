"""FastAPI dependencies (``Annotated`` aliases) for knowledge, settings and the engine.

They are ``async def`` although they only read ``app.state``: FastAPI runs a plain ``def``
dependency in the thread pool, two thread hops per request for an attribute read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from app.knowledge.schema import Knowledge
from app.settings import Settings


async def get_knowledge(request: Request) -> Knowledge:
    knowledge: Knowledge = request.app.state.knowledge
    return knowledge


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
