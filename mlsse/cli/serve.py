"""``mlsse serve``: the local web app and JSON API over one loaded model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Hosts that reach only this machine.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on; 127.0.0.1 reaches only this machine, 0.0.0.0 "
                                      "every network it is on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    model: Annotated[Path | None, typer.Option(help="Model directory (default: the active model).")] = None,
) -> None:
    """Serve the web pages (predict, dope, rank, models) and the JSON API (/docs) with the model loaded once."""
    import socket

    import uvicorn

    from mlsse.errors import MlsseError
    from mlsse.web.app import create_app

    try:  # said now, in one line, rather than as a server's traceback after the model has loaded
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise MlsseError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (another server there? give "
                         "--port)") from None

    app = create_app(model)  # loaded before listening: a broken model is an error now, not per request
    where = ("only this machine can reach it" if host in LOOPBACK_HOSTS
             else "other machines on the network can reach it; mlsse has no login")
    typer.echo(f"mlsse serve: model {app.state.service.model_name}; listening on {host}:{port} ({where}). "
               f"Pages at http://{'localhost' if host in LOOPBACK_HOSTS else host}:{port}/, the API at /docs. "
               "Ctrl-C stops it.", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
