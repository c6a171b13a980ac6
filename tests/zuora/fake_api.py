"""``FakeZuora``: Zuora's HTTP API as tap-zuora 1.6.1 uses it, served on 127.0.0.1.

Endpoints (paths relative to a base URL; see ``run_tap`` for how the tap is pointed here):

- ``POST oauth/token`` (form: client_id, client_secret, grant_type=client_credentials)
- ``GET v1/describe`` and ``GET v1/describe/<Object>`` (XML)
- AQuA: ``POST v1/batch-query/``, ``GET``/``DELETE v1/batch-query/jobs/<id>``,
  ``GET v1/file/<id>`` (CSV; UTC datetimes; ``incrementalTime`` in US/Pacific honoured;
  soft-deleted rows and a ``Deleted`` column when the query asks for ``deleted``)
- REST: ``POST v1/object/export``, ``GET v1/object/export/<id>``, ``GET v1/files/<id>``
  (CSV; datetimes in the tenant's zone; ``where UpdatedDate >= ... and < ...`` honoured)

Every other request needs ``Authorization: Bearer <token from oauth/token>`` or the
``apiAccessKeyId``/``apiSecretAccessKey`` headers. A path may start with a host segment
(``/rest.na.zuora.com/v1/...``): requests record it as ``host``, and with ``home_host`` set
every other host answers 401, as Zuora's other data centres do.

Knobs: ``delay_jobs`` (exports complete N seconds after submission), ``segment_rows`` (AQuA
results split into segments of N rows, one file each), ``expire_files`` (downloads 404),
``add_custom_field``; mutate the data with ``upsert`` and ``soft_delete``. ``requests`` holds
every request received, ``downloads`` every export file the tap downloaded, as served.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from xml.etree import ElementTree

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from zuora.model import (
    TENANT_ZONE,
    UTC,
    Export,
    Field,
    Tenant,
    Value,
    ZoqlError,
    ZuoraObject,
    parse_zoql,
    render_csv,
    render_value,
)

SYNTAX_ERROR = "There is a syntax error in one of the queries in the AQuA input"
NO_DELETED_SUPPORT = (
    "Objects included in the queries do not support the querying of deleted "
    "records. Remove Deleted section in the JSON request and retry the request"
)
"""The exact messages tap-zuora 1.6.1 compares with when it probes an object (apis.py)."""


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names in lower case), and how it
    answered (``response``: the JSON body, ``None`` for XML and CSV)."""

    method: str
    host: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int
    response: Any


@dataclasses.dataclass(frozen=True)
class ServedFile:
    """An export file as served: the CSV header and cells exactly as written."""

    api: str
    object: str
    job_id: str
    file_id: str
    query: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def body(self) -> bytes:
        return render_csv(self.header, self.rows)


@dataclasses.dataclass
class Job:
    id: str
    api: str
    object: str
    query: str
    ready_at: float
    file_ids: list[str]
    record_count: int
    full: bool
    payload: Any
    cancelled: bool = False

    @property
    def completed(self) -> bool:
        return time.monotonic() >= self.ready_at


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are recorded in ``FakeZuora.requests``, not logged."""


class FakeZuora:
    """The fake API over ``tenant``; ``start()`` (or ``with``) serves it on a free port."""

    def __init__(
        self,
        tenant: Tenant,
        username: str = "fake-client-id",
        password: str = "fake-client-secret",  # noqa: S107 - a fake credential
        partner_id: str = "fake-partner",
    ) -> None:
        self.tenant = tenant
        self.username = username
        self.password = password
        self.partner_id = partner_id
        self.home_host: str | None = None
        self.segment_rows: int | None = None
        self.requests: list[RecordedRequest] = []
        self.downloads: list[ServedFile] = []
        self._delays: dict[str | None, float] = {}
        self._tokens: set[str] = set()
        self._jobs: dict[str, Job] = {}
        self._files: dict[str, ServedFile] = {}
        self._lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/`` (ends with a slash, as tap-zuora's base URLs do)."""
        if self._server is None:
            raise RuntimeError("FakeZuora is not started")
        return f"http://127.0.0.1:{self._server.server_port}/"

    def start(self) -> FakeZuora:
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-zuora", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    @classmethod
    @contextmanager
    def serving(cls, tenant: Tenant) -> Iterator[FakeZuora]:
        fake = cls(tenant).start()
        try:
            yield fake
        finally:
            fake.stop()

    # -- knobs and mutations (call between runs) -------------------------------------------

    def delay_jobs(self, seconds: float, objects: Iterable[str] | None = None) -> None:
        """Exports of ``objects`` (default: all) complete ``seconds`` after submission; until
        then their status is 'executing' / 'Processing' and the tap waits, sending nothing."""
        with self._lock:
            for name in objects if objects is not None else [None]:
                self._delays[name] = seconds

    def expire_files(self) -> None:
        """Every export file generated so far answers 404 from now on."""
        with self._lock:
            self._files.clear()

    def upsert(self, object_name: str, values: Mapping[str, Value], at: dt.datetime) -> None:
        with self._lock:
            self.tenant.upsert(object_name, values, at)

    def soft_delete(self, object_name: str, row_id: str, at: dt.datetime) -> None:
        with self._lock:
            self.tenant.soft_delete(object_name, row_id, at)

    def add_custom_field(self, object_name: str, name: str, zuora_type: str = "text") -> None:
        """A custom field (``<name>`` should end in ``__c``) appended to the object's
        describe; existing rows hold null, rows updated afterwards can carry values."""
        with self._lock:
            self.tenant.add_field(object_name, Field(name, zuora_type, custom=True))

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests whose path starts with ``path_prefix`` (e.g. ``v1/batch-query``)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and method in (None, r.method)
            ]

    # -- HTTP ------------------------------------------------------------------------------

    def _app(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        host, path = _split_host(request.path)
        body = _body(request)
        with self._lock:
            response = self._dispatch(request, host, path, body)
            answer = json.loads(response.get_data()) if response.is_json else None
            self.requests.append(
                RecordedRequest(
                    request.method,
                    host,
                    path,
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    response.status_code,
                    answer,
                )
            )
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _dispatch(self, request: Request, host: str, path: str, body: Any) -> Response:
        if self.home_host is not None and host != self.home_host:
            return _json({"Success": False, "Errors": [{"Message": "Authentication error"}]}, 401)
        if (request.method, path) == ("POST", "oauth/token"):
            return self._token(body)
        if not self._authorised(request):
            return _json({"Success": False, "Errors": [{"Message": "Authentication error"}]}, 401)
        segments = (request.method, *path.rstrip("/").split("/"))
        for pattern, handler in ROUTES:
            if len(pattern) == len(segments) and all(
                p in ("*", s) for p, s in zip(pattern, segments, strict=True)
            ):
                argument = segments[pattern.index("*")] if "*" in pattern else ""
                return handler(self, argument, body)
        return _json({"Success": False, "Errors": [{"Message": f"no route {path}"}]}, 404)

    def _token(self, form: Any) -> Response:
        if not isinstance(form, dict) or (
            form.get("client_id"),
            form.get("client_secret"),
            form.get("grant_type"),
        ) != (self.username, self.password, "client_credentials"):
            return _json({"message": "invalid_client"}, 401)
        token = uuid.uuid4().hex
        self._tokens.add(token)
        return _json(
            {"access_token": token, "token_type": "bearer", "expires_in": 3599, "jti": token}
        )

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return token in self._tokens
        return (
            request.headers.get("apiAccessKeyId"),
            request.headers.get("apiSecretAccessKey"),
        ) == (self.username, self.password)

    # -- describe --------------------------------------------------------------------------

    def _describe_all(self, _: str, body: Any) -> Response:
        objects = ElementTree.Element("objects")
        for name in self.tenant.objects:
            element = ElementTree.SubElement(objects, "object", href=f"v1/describe/{name}")
            ElementTree.SubElement(element, "name").text = name
            ElementTree.SubElement(element, "label").text = name
        return _xml(objects)

    def _describe(self, name: str, body: Any) -> Response:
        zobject = self.tenant.objects.get(name)
        if zobject is None:
            return _json({"Success": False, "Errors": [{"Message": "noSuchDataSource"}]}, 400)
        root = ElementTree.Element("object")
        ElementTree.SubElement(root, "name").text = zobject.name
        ElementTree.SubElement(root, "label").text = zobject.name
        fields = ElementTree.SubElement(root, "fields")
        for described in zobject.fields:
            fields.append(_field_element(described))
        related = ElementTree.SubElement(root, "related-objects")
        for other in zobject.related:
            element = ElementTree.SubElement(related, "object", href=f"v1/describe/{other}")
            ElementTree.SubElement(element, "name").text = other
            ElementTree.SubElement(element, "label").text = other
        return _xml(root)

    # -- AQuA ------------------------------------------------------------------------------

    def _aqua_submit(self, _: str, payload: Any) -> Response:
        job_id = uuid.uuid4().hex
        if payload.get("partner") != self.partner_id:
            return _json({"errorCode": "90000011", "message": "Partner ID is not recognized."})
        query = payload["queries"][0]
        text: str = query["query"]
        deleted = query.get("deleted")
        try:
            zoql = parse_zoql(text)
            zobject = self.tenant.object(zoql.object)
            if zoql.fields == ("*",):  # discovery's probe: is it exportable, with deletes?
                return self._aqua_probe(job_id, zobject)
            if deleted and not zobject.supports_deleted:
                return _json({"id": job_id, "status": "error", "message": NO_DELETED_SUPPORT})
            since = _incremental_time(payload.get("incrementalTime"))
            export = self.tenant.export(zoql, since=since, with_deleted=bool(deleted))
        except ZoqlError as error:
            return _json({"id": job_id, "status": "error", "message": f"{SYNTAX_ERROR} ({error})"})
        if deleted:
            export = dataclasses.replace(export, names=(*export.names[:-1], deleted["column"]))
        job = self._new_job(job_id, "AQUA", export, query=text, payload=payload, full=since is None)
        return _json(self._aqua_job(job, payload) | {"status": "submitted"})

    def _aqua_probe(self, job_id: str, zobject: ZuoraObject) -> Response:
        if not zobject.exportable:
            return _json({"id": job_id, "status": "error", "message": SYNTAX_ERROR})
        if not zobject.supports_deleted:
            return _json({"id": job_id, "status": "error", "message": NO_DELETED_SUPPORT})
        return _json({"id": job_id, "status": "submitted", "batches": []})

    def _aqua_job(self, job: Job, payload: Any) -> dict[str, Any]:
        status = "completed" if job.completed else "executing"
        batch: dict[str, Any] = {
            "name": payload["queries"][0]["name"],
            "query": job.query,
            "batchType": "zoqlexport",
            "apiVersion": "91.0",
            "full": job.full,
            "status": status,
            "recordCount": job.record_count,
        }
        if job.completed:
            if len(job.file_ids) == 1:
                batch["fileId"] = job.file_ids[0]
            else:
                batch["segments"] = list(job.file_ids)
        return {
            "id": job.id,
            "status": "cancelled" if job.cancelled else status,
            "name": payload.get("name"),
            "project": payload.get("project"),
            "partner": payload.get("partner"),
            "format": "CSV",
            "version": payload.get("version"),
            "encrypted": "none",
            "incrementalTime": payload.get("incrementalTime"),
            "batches": [batch],
        }

    def _aqua_status(self, job_id: str, body: Any) -> Response:
        job = self._jobs.get(job_id)
        if job is None or job.api != "AQUA":
            return _json({"Success": False, "Errors": [{"Message": "no such job"}]}, 404)
        return _json(self._aqua_job(job, job.payload))

    def _aqua_cancel(self, job_id: str, body: Any) -> Response:
        job = self._jobs.get(job_id)
        if job is not None:
            job.cancelled = True
        return _json({"id": job_id, "status": "cancelled"})

    # -- REST exports ----------------------------------------------------------------------

    def _rest_submit(self, _: str, payload: Any) -> Response:
        job_id = uuid.uuid4().hex
        text: str = payload["Query"]
        try:
            zoql = parse_zoql(text)
            zobject = self.tenant.object(zoql.object)
            if zoql.fields == ("*",):  # discovery's probe
                return _json({"Success": zobject.exportable, "Id": job_id})
            export = self.tenant.export(zoql, since=None, with_deleted=False)
        except ZoqlError as error:
            return _json(
                {"Success": False, "Errors": [{"Code": "INVALID_VALUE", "Message": str(error)}]},
                400,
            )
        self._new_job(job_id, "REST", export, query=text, payload=payload, full=True)
        return _json({"Success": True, "Id": job_id})

    def _rest_status(self, job_id: str, body: Any) -> Response:
        job = self._jobs.get(job_id)
        if job is None or job.api != "REST":
            return _json({"Success": False, "Errors": [{"Message": "no such export"}]}, 404)
        answer: dict[str, Any] = {
            "Id": job.id,
            "Format": "csv",
            "Query": job.query,
            "Status": "Completed" if job.completed else "Processing",
            "Size": job.record_count,
            "Success": True,
        }
        if job.completed:
            answer["FileId"] = job.file_ids[0]
        return _json(answer)

    # -- files -----------------------------------------------------------------------------

    def _new_job(
        self, job_id: str, api: str, export: Export, *, query: str, payload: Any, full: bool
    ) -> Job:
        """Write the export's file(s) now (an export is a snapshot) and remember the job."""
        if api == "AQUA":
            zone: dt.tzinfo = UTC
            header = export.names
        else:
            zone = TENANT_ZONE
            header = tuple(n if "." in n else f"{export.object}.{n}" for n in export.names)
        cells = [tuple(render_value(v, zone) for v in row) for row in export.rows]
        size = self.segment_rows if api == "AQUA" and self.segment_rows else max(len(cells), 1)
        chunks = [cells[i : i + size] for i in range(0, len(cells), size)] or [[]]
        file_ids = []
        for chunk in chunks:
            served = ServedFile(
                api, export.object, job_id, uuid.uuid4().hex, query, header, tuple(chunk)
            )
            self._files[served.file_id] = served
            file_ids.append(served.file_id)
        delay = self._delays.get(export.object, self._delays.get(None, 0.0))
        job = Job(
            job_id,
            api,
            export.object,
            query,
            time.monotonic() + delay,
            file_ids,
            len(cells),
            full,
            payload,
        )
        self._jobs[job_id] = job
        return job

    def _download(self, file_id: str, body: Any) -> Response:
        served = self._files.get(file_id)
        if served is None:
            return _json({"Success": False, "Errors": [{"Message": "File not found"}]}, 404)
        self.downloads.append(served)
        return Response(served.body(), content_type="text/csv; charset=utf-8")


Handler = Callable[[FakeZuora, str, Any], Response]
ROUTES: tuple[tuple[tuple[str, ...], Handler], ...] = (
    (("GET", "v1", "describe"), FakeZuora._describe_all),
    (("GET", "v1", "describe", "*"), FakeZuora._describe),
    (("POST", "v1", "batch-query"), FakeZuora._aqua_submit),
    (("GET", "v1", "batch-query", "jobs", "*"), FakeZuora._aqua_status),
    (("DELETE", "v1", "batch-query", "jobs", "*"), FakeZuora._aqua_cancel),
    (("GET", "v1", "file", "*"), FakeZuora._download),  # AQuA
    (("POST", "v1", "object", "export"), FakeZuora._rest_submit),
    (("GET", "v1", "object", "export", "*"), FakeZuora._rest_status),
    (("GET", "v1", "files", "*"), FakeZuora._download),  # REST
)
"""(method, *path segments) -> handler(fake, the segment matched by "*", request body)."""


def _split_host(path: str) -> tuple[str, str]:
    """``/rest.na.zuora.com/v1/describe`` -> (``rest.na.zuora.com``, ``v1/describe``)."""
    first, _, rest = path.lstrip("/").partition("/")
    if "." in first:
        return first, rest
    return "", path.lstrip("/")


def _body(request: Request) -> Any:
    if request.mimetype == "application/json":
        return request.get_json(silent=True)
    if request.mimetype == "application/x-www-form-urlencoded":
        return request.form.to_dict()
    return request.get_json(force=True, silent=True)


def _incremental_time(value: str | None) -> dt.datetime | None:
    """AQuA's ``incrementalTime``: ``YYYY-MM-DD HH:MM:SS`` in US/Pacific."""
    if not value:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=TENANT_ZONE)


def _field_element(described: Field) -> ElementTree.Element:
    element = ElementTree.Element("field")
    for tag, text in (
        ("name", described.name),
        ("label", described.name),
        ("type", described.type),
        ("selectable", "true"),
        ("filterable", "true"),
        ("custom", str(described.custom).lower()),
        ("required", str(described.required).lower()),
    ):
        ElementTree.SubElement(element, tag).text = text
    contexts = ElementTree.SubElement(element, "contexts")
    for context in described.contexts:
        ElementTree.SubElement(contexts, "context").text = context
    return element


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _xml(root: ElementTree.Element) -> Response:
    return Response(
        ElementTree.tostring(root, encoding="utf-8", xml_declaration=True),
        content_type="application/xml; charset=utf-8",
    )
