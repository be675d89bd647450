"""Reading the console's HTML forms: a size cap before parsing, and typed field access.

form = await read_form(request)           # InvalidRequestError if too large or malformed
name = text(form, "commonName")           # "" when absent, stripped
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from acme_server.services.errors import InvalidRequestError

MAX_FORM_BYTES = 256 * 1024  # a pasted CSR or a profile's fields; far below any abuse
MAX_FIELDS = 500


class FormTooLarge(InvalidRequestError):
    pass


async def read_form(request: Request) -> FormData:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_FORM_BYTES:
        raise FormTooLarge(f"the form exceeds {MAX_FORM_BYTES // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge(f"the form exceeds {MAX_FORM_BYTES // 1024} KiB")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in ("application/x-www-form-urlencoded", "multipart/form-data", ""):
        raise InvalidRequestError("a console form is sent as application/x-www-form-urlencoded")

    async def replay() -> dict[str, object]:
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    again = Request(request.scope, replay)
    try:
        return await again.form(max_files=0, max_fields=MAX_FIELDS)
    except Exception as exc:
        raise InvalidRequestError(f"the form could not be read: {exc}") from None


def text(form: FormData, name: str, limit: int = 65536) -> str:
    value = form.get(name, "")
    if isinstance(value, UploadFile):
        raise InvalidRequestError(f"{name}: a file upload is not accepted here")
    if "\x00" in value:
        raise InvalidRequestError(f"{name}: holds a NUL character")
    if len(value) > limit:
        raise InvalidRequestError(f"{name}: longer than {limit} characters")
    return value.strip()


def texts(form: FormData, name: str, limit: int = 4096) -> list[str]:
    """Every non-empty value of a repeated field (checkboxes, several lines)."""
    found: list[str] = []
    for value in form.getlist(name):
        if isinstance(value, UploadFile):
            raise InvalidRequestError(f"{name}: a file upload is not accepted here")
        if "\x00" in value or len(value) > limit:
            raise InvalidRequestError(f"{name}: a value is too long or holds a NUL")
        if value.strip():
            found.append(value.strip())
    return found


def lines(value: str) -> list[str]:
    """A textarea's values, one per line or comma-separated."""
    return [part.strip() for line in value.splitlines() for part in line.split(",") if part.strip()]


def checked(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "true", "1", "yes")
