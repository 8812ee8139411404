"""A small cookie-keeping HTTP client for page tests: no redirects followed, raw headers
visible (the tests look at Set-Cookie flags and at what the server does not send)."""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


class WebClient:
    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.jar: dict[str, str] = {}
        self.extra = headers or {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        all_headers = {**self.extra, **(headers or {})}
        if self.jar:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            reply = Reply(response.status, response.headers, response.read().decode())
        finally:
            conn.close()
        for raw in reply.cookies():
            cookie = SimpleCookie()
            cookie.load(raw)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.jar.pop(name, None)
                else:
                    self.jar[name] = morsel.value
        return reply

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Reply:
        return self.request("POST", path, urlencode(form), {
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {}),
        })

    def csrf_token(self, path: str) -> str:
        """The hidden csrf_token of the first form on `path` (the page sets the session)."""
        page = self.get(path).body
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'<meta name="csrf-token" content="([^"]+)"', page)
        assert found, f"no csrf_token on {path}"
        return found.group(1)

    def login(self, username: str, password: str = "password123",
              headers: dict[str, str] | None = None) -> Reply:
        token = self.csrf_token("/login")
        return self.post("/login", {"csrf_token": token, "username": username,
                                    "password": password}, headers)
