"""``X-Knowledge-Version`` on every response (pure ASGI: no response buffering)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class KnowledgeVersionHeader:
    def __init__(self, app: ASGIApp, version: str) -> None:
        self.app = app
        self.header = (b"x-knowledge-version", version.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
