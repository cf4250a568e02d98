"""A loopback stand-in for an OpenAI-compatible `/v1/chat/completions` server (what vLLM serves). `reply(prompt,
temperature)` scripts the answers, or returns a `Fault` to misbehave as broken servers do; `hold_after` makes every
request after that many wait until `release()`."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from loopback import free_port


class Fault(str):
    """A scripted misbehaviour in place of an answer: "hang" (accept, never answer), "trickle" (a valid answer, one
    byte per `trickle_interval`), "http 500", "garbage" (HTTP 200, not JSON), "no choices" (an empty `choices`)."""


def refused_url() -> str:
    """The URL of a loopback port nothing listens on (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


def _completion(number: int, model: str, content: str) -> bytes:
    return json.dumps({
        "id": f"cmpl-{number}", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }).encode()


class LLMEndpointStandIn:
    def __init__(self, reply, trickle_interval: float = 0.1):
        self.reply, self.requests, self.hold_after = reply, [], None
        self.trickle_interval = trickle_interval
        self._released, self._closing = threading.Event(), threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_body(self, body: bytes, status: int = 200, interval: float = 0.0):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not interval:
                    self.wfile.write(body)
                    return
                for byte in body:
                    if stand_in._closing.wait(interval):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                stand_in.requests.append(request)
                if stand_in.hold_after is not None and len(stand_in.requests) > stand_in.hold_after:
                    stand_in._released.wait()
                content = stand_in.reply(request["messages"][-1]["content"], request.get("temperature") or 0.0)
                fault = content if isinstance(content, Fault) else None
                try:
                    if fault == "hang":
                        stand_in._closing.wait()
                    elif fault == "http 500":
                        self.send_error(500, "Internal Server Error")
                    elif fault == "garbage":
                        self.send_body(b"<html><body>502 Bad Gateway</body></html>")
                    elif fault == "no choices":
                        self.send_body(json.dumps({"id": "cmpl", "object": "chat.completion", "choices": []}).encode())
                    else:
                        body = _completion(len(stand_in.requests), request.get("model", "default"),
                                           "a trickled answer" if fault == "trickle" else content)
                        self.send_body(body, interval=stand_in.trickle_interval if fault == "trickle" else 0.0)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its deadline) or was killed while its request was held

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self.hold_after = None
        self._released.set()

    def close(self):
        self.release()
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
