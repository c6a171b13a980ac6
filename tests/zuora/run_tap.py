"""Run the real tap-zuora against a fake Zuora API. Runs under the tap's own virtualenv:

    <tap venv>/bin/python run_tap.py BASE_URL [--poll-interval SECONDS] -- <tap-zuora args>

tap-zuora 1.6.1 hard-codes its base URLs in ``tap_zuora.client.URLS`` (``{(sandbox,
european): ["https://rest.na.zuora.com/", ...]}``). Each is rewritten to
``BASE_URL<its host>/`` (``http://127.0.0.1:8080/rest.na.zuora.com/``), so the fake sees which
data centre the tap chose and the order it tries them in. ``--poll-interval`` replaces
``tap_zuora.sync.DEFAULT_POLL_INTERVAL`` (60 s between status checks of an unfinished export).
Nothing else is changed: this is the tap's own ``main``.
"""

from __future__ import annotations

import importlib
import sys
from urllib.parse import urlsplit


def main(argv: list[str]) -> None:
    base, *rest = argv
    if not base.endswith("/"):
        base += "/"
    poll_interval = None
    if rest[:1] == ["--poll-interval"]:
        poll_interval = float(rest[1])
        rest = rest[2:]
    if rest[:1] == ["--"]:
        rest = rest[1:]

    client = importlib.import_module("tap_zuora.client")
    for key, urls in client.URLS.items():
        client.URLS[key] = [f"{base}{urlsplit(url).hostname}/" for url in urls]
    if poll_interval is not None:
        vars(importlib.import_module("tap_zuora.sync"))["DEFAULT_POLL_INTERVAL"] = poll_interval

    sys.argv = ["tap-zuora", *rest]
    importlib.import_module("tap_zuora").main()


if __name__ == "__main__":
    main(sys.argv[1:])
