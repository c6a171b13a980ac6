"""A fake Zuora API and a harness that runs the real tap-zuora 1.6.1 against it.

- ``model``: the fake tenant's objects, fields, rows, and the ZOQL subset the tap sends.
- ``data``: the default tenant (Account, Invoice, InvoiceItem, Subscription, and Usage,
  which Zuora describes but will not export).
- ``fake_api``: ``FakeZuora``, the HTTP server on 127.0.0.1 (OAuth, describe, AQuA, REST export).
- ``run_tap``: the launcher the tap's own virtualenv runs (points the tap's URLs at the fake).
- ``pipeline``: ``TapZuora`` (discover, select, ``tap | tee | target``) and ``PipelineRun``.
- ``harness``: a pytest plugin (``pytest_plugins = ["zuora.harness"]``) with the fixtures
  ``tap_zuora_python``, ``fake_zuora`` and ``tap_zuora``.
"""
