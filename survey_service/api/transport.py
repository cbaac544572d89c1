"""Request bodies on the wire: one limit for every body, chunked or not, and connections that
stay usable when the reply is sent before the body was read.

Werkzeug wraps a body without Content-Length (chunked) in a stream that silently stops at
`max_content_length`: a longer upload was cut there and taken as if whole. Here every body,
whatever reads it (JSON, webargs, CSV, multipart forms), comes through `BodyStream`, which
refuses the byte past the limit with a 413. The limit is the request's `max_content_length`
when the body is first read (SURVEY_MAX_CONTENT_LENGTH, or SURVEY_MAX_UPLOAD_LENGTH where
an upload raises it). Before any view, a URL holding text that no database here can store
(U+0000) is refused with its path, as JSON bodies are (api/body.py).
"""

from __future__ import annotations

import io
from typing import IO, Any, cast

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.utils import cached_property

from survey_service.api.body import printable, refuse_unstorable

#: After a reply sent before its body was read, the rest of the body is read and dropped so
#: that the connection can serve the next request, if it is at most SURVEY_MAX_CONTENT_LENGTH
#: (what any request may send) plus DRAIN_MARGIN; a longer one closes the connection instead
#: (`Connection: close`): a 200 MB upload refused is not read to its end.
DRAIN_MARGIN = 1 << 20
_CHUNK = 1 << 16


def too_large(limit: int) -> RequestEntityTooLarge:
    """The 413 of a body over `limit` bytes."""
    return RequestEntityTooLarge(
        f"The request body is larger than the {limit:,} bytes accepted here; nothing was stored."
    )


class BodyStream(io.RawIOBase):
    """The WSGI input, read up to its Content-Length (`length`) or, chunked, to its end;
    reading more than `limit` bytes raises the 413 instead of ending short."""

    def __init__(self, raw: IO[bytes], length: int | None, limit: int | None) -> None:
        super().__init__()
        self._raw, self._length, self._limit = raw, length, limit
        self._position = 0
        self._ended = length == 0

    def readable(self) -> bool:
        return True

    def _next(self, size: int) -> bytes:
        """Up to `size` bytes of the body (b"" at its end), whatever the limit."""
        if self._length is not None:
            size = min(size, self._length - self._position)
        if self._ended or size <= 0:
            self._ended = True
            return b""
        try:
            data = self._raw.read(size)
        except (OSError, ValueError) as exc:
            raise ClientDisconnected() from exc
        if not data:
            if self._length is not None:
                raise ClientDisconnected()  # fewer bytes than Content-Length announced
            self._ended = True
        self._position += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self._limit is not None:
            size = min(size, self._limit + 1 - self._position)  # one byte past is enough
        data = self._next(max(size, 1))
        if self._limit is not None and self._position > self._limit:
            raise too_large(self._limit)
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        out = io.BytesIO()
        while data := self.read(_CHUNK):
            out.write(data)
        return out.getvalue()

    def drain(self, budget: int) -> bool:
        """Read and drop the rest of the body, up to `budget` bytes: whether it ended."""
        if self._length is not None and self._length - self._position > budget:
            return False
        start = self._position
        while not self._ended and self._position - start <= budget:
            self._next(_CHUNK)
        return self._ended


class SurveyRequest(Request):
    """Flask's request, reading its body through `BodyStream`."""

    @cached_property
    def stream(self) -> IO[bytes]:
        if self.shallow:
            raise RuntimeError("This request was created with 'shallow=True'.")
        limit, length = self.max_content_length, self.content_length
        if limit is not None and length is not None and length > limit:
            raise too_large(limit)
        if length is None and "wsgi.input_terminated" not in self.environ:
            return io.BytesIO()  # as Werkzeug: a server that cannot end the body gives none
        return cast(IO[bytes], BodyStream(self.environ["wsgi.input"], length, limit))

    def body_finished(self, budget: int) -> bool:
        """Whether the body has been read to its end, after reading and dropping what is
        left of it (up to `budget` bytes)."""
        try:
            stream = self.__dict__.get("stream")
            if stream is None:
                if self.content_length is None and "wsgi.input_terminated" not in self.environ:
                    return True
                stream = BodyStream(self.environ["wsgi.input"], self.content_length, None)
            return not isinstance(stream, BodyStream) or stream.drain(budget)
        except ClientDisconnected:
            return False


def _keep_connection_usable(response: Response) -> Response:
    # A reply sent before the body was read (401, 403, 413) would leave the rest of the body
    # on the connection, where the server takes it for the next request: the body is read
    # and dropped if short, else the connection closes once this reply is sent.
    budget = (current_app.config["MAX_CONTENT_LENGTH"] or 0) + DRAIN_MARGIN
    if isinstance(request, SurveyRequest) and not request.body_finished(budget):
        response.headers["Connection"] = "close"
    return response


def _refuse_unstorable_url() -> None:
    # a path or query parameter reaches queries as text: PostgreSQL cannot take U+0000
    # (decoding the URL leaves no surrogate: bytes not in UTF-8 become U+FFFD)
    query = request.args.items(multi=True)
    refuse_unstorable(
        [("path", request.path)]
        + [(f"query.{printable(name)}", f"{name}{value}") for name, value in query]
    )


def init_transport(app: Flask) -> None:
    """Every request of `app` reads its body through `BodyStream`, and is refused first if
    its URL holds text that cannot be stored."""
    app.request_class = SurveyRequest
    app.before_request(_refuse_unstorable_url)
    app.after_request(_keep_connection_usable)
