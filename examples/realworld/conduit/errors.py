"""Errors in the API's shape: ``{"errors": {"body": ["..."]}}`` with a fitting status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from orm.core import NotFoundError, UniqueConstraintViolation


class ApiError(Exception):
    """An error the client can act on; its messages are sent as they are."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)


AUTHENTICATION_REQUIRED = "authentication required: send the header 'Authorization: Token <jwt>'"


def unauthorized(message: str = AUTHENTICATION_REQUIRED) -> ApiError:
    return ApiError(401, message)


def forbidden(message: str) -> ApiError:
    return ApiError(403, message)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found")


def unprocessable(*messages: str) -> ApiError:
    return ApiError(422, *messages)


def error_response(status: int, messages: list[str]) -> JSONResponse:
    return JSONResponse({"errors": {"body": messages}}, status_code=status)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.messages)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    messages = [
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'body'}: {error['msg']}"
        for error in exc.errors()
    ]
    return error_response(422, messages)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, [str(exc.detail)])


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error_response(404, [str(exc)])


async def _unique_violation(request: Request, exc: Exception) -> JSONResponse:
    # Two requests raced past the check in the handler: the database's constraint decides.
    return error_response(422, [f"already taken: {exc}"])


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(UniqueConstraintViolation, _unique_violation)
