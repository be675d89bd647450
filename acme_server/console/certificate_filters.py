"""The inventory table's filter as the URL holds it (a GET form, so a view is bookmarkable),
read into the service's CertificateQuery, and the links the table needs: a column header's
sort link, the pager's previous and next pages.

    /ui/certificates?status=active&profile=<id>&ca=<id>&method=acme&q=shop
        &within=30&meta=team%3Dweb&meta=env%3Dprod&sort=notAfter&order=asc&offset=25

Bad values (a day count that is no number, an unknown status, `meta` without "=") are
listed by field name, and the page answers 400 with them next to the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from acme_server.services.certificates.inventory import LIST_LIMIT_MAX, CertificateQuery
from pki_types.model import CertificateStatus, RequestMethod

PAGE_SIZE = 25
MAX_WITHIN_DAYS = 36500
MAX_OFFSET = 10**9
MAX_TEXT = 255
SORTS = {"createdAt": "created_at", "notAfter": "not_after", "commonName": "common_name"}
SORT_LABELS = {"commonName": "Common name", "notAfter": "Not after", "createdAt": "Created"}
STATUSES = tuple(s.value for s in CertificateStatus)
METHODS = tuple(m.value for m in RequestMethod)
# The filter fields the URL carries (sort, order and offset are the view's, not the filter's)
FILTER_FIELDS = ("status", "profile", "ca", "method", "q", "within")


@dataclass
class PageInfo:
    """What macros.html's pager shows."""

    total: int
    limit: int
    first: int
    last: int
    prev: str | None
    next: str | None


@dataclass
class InventoryView:
    """The filter and view the URL asked for, checked."""

    values: dict[str, str] = field(default_factory=dict)  # the form's fields as given
    metadata: dict[str, str] = field(default_factory=dict)
    meta_texts: list[str] = field(default_factory=list)  # "key=value" as given
    sort: str = "createdAt"
    order: str = "desc"
    offset: int = 0
    limit: int = PAGE_SIZE
    errors: dict[str, str] = field(default_factory=dict)

    def query(self, profile_ids: tuple[str, ...] | None) -> CertificateQuery:
        """The service query (only call when there are no errors)."""
        within = self.values.get("within", "")
        status = self.values.get("status", "")
        method = self.values.get("method", "")
        return CertificateQuery(
            status=CertificateStatus(status) if status else None,
            profile_id=self.values.get("profile") or None,
            ca_id=self.values.get("ca") or None,
            search=self.values.get("q") or None,
            request_method=RequestMethod(method) if method else None,
            expires_within=timedelta(days=int(within)) if within else None,
            metadata=dict(self.metadata),
            profile_ids=profile_ids,
            limit=self.limit,
            offset=self.offset,
            order_by=SORTS[self.sort],
            descending=self.order == "desc",
        )

    def _params(self, **changes: str | int | None) -> list[tuple[str, str]]:
        pairs = [(name, value) for name, value in self.values.items() if value]
        pairs += [("meta", text) for text in self.meta_texts]
        view: dict[str, str | int | None] = {
            "sort": self.sort,
            "order": self.order,
            "offset": self.offset,
            **changes,
        }
        if view["sort"] == "createdAt" and view["order"] == "desc":
            del view["sort"], view["order"]  # the default view
        if not view.get("offset"):
            view.pop("offset", None)
        if self.limit != PAGE_SIZE:
            view["limit"] = self.limit
        pairs += [(name, str(value)) for name, value in view.items() if value is not None]
        return pairs

    def url(self, **changes: str | int | None) -> str:
        query = urlencode(self._params(**changes))
        return "/ui/certificates" + (f"?{query}" if query else "")

    def sort_url(self, column: str) -> str:
        """A header's link: this column, the other direction when it is the current one;
        back to the first page."""
        if column == self.sort:
            order = "asc" if self.order == "desc" else "desc"
        else:
            order = "asc" if column == "commonName" else "desc"
        return self.url(sort=column, order=order, offset=0)

    def sort_mark(self, column: str) -> str:
        if column != self.sort:
            return ""
        return " ▲" if self.order == "asc" else " ▼"

    def page_info(self, total: int) -> PageInfo:
        prev = None
        if self.offset > 0:
            prev = self.url(offset=max(0, self.offset - self.limit))
        following = self.url(offset=self.offset + self.limit)
        last = min(total, self.offset + self.limit)
        return PageInfo(
            total=total,
            limit=self.limit,
            first=min(total, self.offset + 1),
            last=last,
            prev=prev,
            next=following if self.offset + self.limit < total else None,
        )


def _integer(text: str, low: int, high: int) -> int | None:
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def read_view(params: QueryParams) -> InventoryView:
    """The view the URL asks for; `errors` names each field given a bad value."""
    view = InventoryView()
    for name in FILTER_FIELDS:
        value = params.get(name, "").strip()
        if "\x00" in value or len(value) > MAX_TEXT:
            view.errors[name] = f"at most {MAX_TEXT} characters"
            value = ""
        view.values[name] = value
    if view.values["status"] and view.values["status"] not in STATUSES:
        view.errors["status"] = f"one of {', '.join(STATUSES)}"
    if view.values["method"] and view.values["method"] not in METHODS:
        view.errors["method"] = f"one of {', '.join(METHODS)}"
    within = view.values["within"]
    if within and _integer(within, 0, MAX_WITHIN_DAYS) is None:
        view.errors["within"] = f"a whole number of days from 0 to {MAX_WITHIN_DAYS}"
    for text in params.getlist("meta"):
        text = text.strip()
        if not text:
            continue
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(text) > 2 * MAX_TEXT or "\x00" in text:
            view.errors["meta"] = f"write each metadata filter as key=value (got {text[:80]!r})"
            continue
        if key in view.metadata and view.metadata[key] != value:
            view.errors["meta"] = f"the metadata key {key!r} is given twice with different values"
            continue
        view.metadata[key] = value
        view.meta_texts.append(f"{key}={value}")
    sort, order = params.get("sort", "createdAt"), params.get("order", "desc")
    view.sort = sort if sort in SORTS else "createdAt"
    view.order = order if order in ("asc", "desc") else "desc"
    offset = _integer(params.get("offset", "0") or "0", 0, MAX_OFFSET)
    view.offset = 0 if offset is None else offset
    limit = _integer(params.get("limit", "") or str(PAGE_SIZE), 1, LIST_LIMIT_MAX)
    view.limit = PAGE_SIZE if limit is None else limit
    return view
