"""A loopback stand-in for an OpenAI-compatible `/v1/chat/completions` server (what vLLM serves). `reply(prompt,
temperature)` scripts the answers; `hold_after` makes every request after that many wait until `release()`."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LLMEndpointStandIn:
    def __init__(self, reply):
        self.reply, self.requests, self.hold_after = reply, [], None
        self._released = threading.Event()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                stand_in.requests.append(request)
                if stand_in.hold_after is not None and len(stand_in.requests) > stand_in.hold_after:
                    stand_in._released.wait()
                content = stand_in.reply(request["messages"][-1]["content"], request.get("temperature") or 0.0)
                body = json.dumps({
                    "id": f"cmpl-{len(stand_in.requests)}", "object": "chat.completion", "created": 0,
                    "model": request.get("model", "default"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed while its request was held

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self.hold_after = None
        self._released.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()
