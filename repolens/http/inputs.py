"""What ``repolens serve`` takes in, checked at the edge so that nothing deeper chokes on it.

- JSON as RFC 8259 has it: Python's ``json`` also reads ``NaN``, ``Infinity`` and numbers too
  large for a float (``1e400``), which no JSON encoder writes back; :func:`loads` refuses them,
  and invalid UTF-8, with a :class:`json.JSONDecodeError` saying what and where.
- :data:`Text`: a string with no NUL character (no path can hold one; the indexer calls such
  content binary) and no lone surrogate (not Unicode: it cannot be encoded, so a prompt, a log
  line or an answer holding it fails).
- Validation errors answered without echoing the input (it can be megabytes, or unencodable).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AfterValidator

__all__ = ["StrictJSONRoute", "Text", "loads", "text_problem", "validation_failed"]

_UNSAFE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """What makes ``value`` unusable as text (a NUL, a lone surrogate), or None."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return f"contains a NUL character (at {found.start()})"
    return f"contains a lone surrogate U+{ord(char):04X} (at {found.start()}), which is not text"


def _checked(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: A request string that is usable text (see the module docstring).
Text = Annotated[str, AfterValidator(_checked)]


class _NotJSON(ValueError):
    pass


def _constant(name: str) -> float:
    raise _NotJSON(f"{name} is not JSON (it has no NaN or infinite numbers)")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _NotJSON(f"{literal[:40]} is too large for a number")
    return value


def loads(data: bytes | str) -> Any:
    """Parse strict JSON (see the module docstring); raises :class:`json.JSONDecodeError`."""
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = data.decode("utf-8", "replace")
            raise json.JSONDecodeError(f"not UTF-8 ({exc.reason})", shown, exc.start) from None
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_finite)
    except json.JSONDecodeError:
        raise
    except _NotJSON as exc:
        where = re.search(r"-?(?:NaN|Infinity)|\d[eE]\+?\d{3,}", text)
        raise json.JSONDecodeError(str(exc), text, where.start() if where else 0) from None
    except ValueError as exc:  # an integer with too many digits
        raise json.JSONDecodeError(str(exc), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """A route whose JSON body is parsed by :func:`loads` (FastAPI answers its errors 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handle(_StrictJSONRequest(request.scope, request.receive))

        return route


def _safe(value: object) -> str | int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    """422 with where and what for each error, and none of the input."""
    errors: list[dict[str, Any]] = []
    for error in exc.errors() if isinstance(exc, RequestValidationError) else []:
        message = str(error.get("msg", "invalid"))
        reason = (error.get("ctx") or {}).get("error")
        if error.get("type") == "json_invalid" and reason:
            message = f"{message}: {reason}"
        errors.append(
            {
                "type": _safe(error.get("type", "")),
                "loc": [_safe(part) for part in error.get("loc", ())],
                "msg": _safe(message),
            }
        )
    return JSONResponse({"detail": errors}, status_code=422)
