"""A local stand-in for an AWS service on a loopback port, reached through boto3."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no request log, and no Nagle delay on replies."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm the body then waits
    # for the client's delayed ACK, 40 ms on every call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the harness reports what matters."""
        return


class LoopbackServer(ThreadingHTTPServer):
    """A threading HTTP server for which a client that hung up is not an error.

    A client that gives up on a slow answer (its read timeout, as the fault injection's
    timeouts cause) closes the connection; the answer then meets a broken pipe, which
    the standard server prints with its traceback.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about a connection the client closed; report anything else."""
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


@dataclass
class Served:
    """A running stand-in: the botocore service it speaks, its endpoint, how to stop it."""

    service: str
    endpoint: str
    server: ThreadingHTTPServer
    thread: Thread

    def client(self, **options: Any) -> Any:
        """Create a boto3 client of ``service`` for this endpoint (it checks no credentials)."""
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            self.service,
            endpoint_url=self.endpoint,
            region_name="eu-west-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the stand-ins check none
            **options,
        )

    def stop(self) -> None:
        """Stop serving and wait for the server thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(
    service: str, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
) -> Served:
    """Serve ``handler`` on a loopback port in a daemon thread."""
    server = LoopbackServer((host, port), handler)
    # serve_forever notices shutdown() only between polls: 0.5 s by default, paid by
    # every stop.
    thread = Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"local-{service}",
        daemon=True,
    )
    thread.start()
    bound_port = server.server_address[1]
    return Served(
        service=service, endpoint=f"http://{host}:{bound_port}", server=server, thread=thread
    )
