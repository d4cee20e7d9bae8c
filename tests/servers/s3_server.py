"""A real S3-compatible HTTP server for the tests: moto's S3 implementation, served one request
at a time.

moto's own `moto_server` serves requests on threads, and its `If-None-Match: *` check and the
write that follows are not atomic, so two racing creates of one key can both succeed there.
Served one request at a time, every conditional create is atomic, as on AWS S3 (the tests prove
it: tests/servers and the stores' race tests).

    python tests/servers/s3_server.py PORT
"""

from __future__ import annotations

import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1", port, app, threaded=False, processes=1, request_handler=MotoRequestHandler
    )


if __name__ == "__main__":
    main()
