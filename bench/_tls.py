"""An HTTPS front for a benchmark's http:// sandbox, so the daemon's account talks TLS as to a real gateway.

The real marketplaces are all HTTPS: an account's memory includes its TLS context (certifi's ~140 CA certificates)
and its connections' TLS state. The front is a loopback TLS terminator with a throwaway self-signed certificate
(openssl CLI), trusted by the daemon through SSL_CERT_FILE pointing at certifi's bundle plus that certificate: the
daemon loads as many CA certificates as in production, and verifies the front's certificate and hostname.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import threading
from pathlib import Path
from types import TracebackType

import certifi


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


class TlsFront:
    """https://127.0.0.1:PORT forwarding every connection to http://127.0.0.1:`target_port`, in a thread."""

    def __init__(self, target_port: int, directory: Path) -> None:
        self._target_port = target_port
        self._directory = directory
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-front", daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0
        self.ca_bundle = directory / "ca-bundle.pem"  # SSL_CERT_FILE for the daemon

    def __enter__(self) -> TlsFront:
        cert, key = self._directory / "front-cert.pem", self._directory / "front-key.pem"
        new_cert = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        new_cert += ["-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"]
        subprocess.run([*new_cert, "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        self.ca_bundle.write_text(
            Path(certifi.where()).read_text(encoding="ascii") + cert.read_text(encoding="ascii"), encoding="ascii"
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=context), self._loop
        ).result(timeout=30)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        """The HTTPS base URL for the account."""
        return f"https://127.0.0.1:{self.port}"

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, writer), _pipe(reader, client_writer))

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(Exception):
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
