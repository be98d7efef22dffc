"""Serving the API over HTTP: uvicorn, configured in one place for ``okrgov serve`` and the
tests that run a real server.

* no ``server`` banner (``server_header=False``): the answer does not say what runs it;
* our ``RequestContext`` middleware logs each request with its correlation id, so
  uvicorn's access log (which has none) is off, and its own logger goes through ours;
* an answer streamed with chunked encoding that fails part way is cut: uvicorn closes the
  connection without the terminating chunk, so the client sees an incomplete transfer."""

import uvicorn
from fastapi import FastAPI


def server_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, server_header=False
    )


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    uvicorn.Server(server_config(app, host, port)).run()
