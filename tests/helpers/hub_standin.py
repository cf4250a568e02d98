"""A local stand-in for the four Hub API endpoints a commit uses (create repo, validate YAML, preupload, commit),
plus Space variables, storing committed files on disk. Loopback only; every file is answered "regular" (no LFS /
xet transfer)."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class HubStandIn:
    def __init__(self, storage: Path):
        self.storage, self.repos, self.commits, self.variables = storage, {}, [], {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, payload, status=200):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path = self.path.split("?")[0]
                if path == "/api/repos/create":
                    request = json.loads(body)
                    repo_id = f"{request['organization']}/{request['name']}" if request.get("organization") else request["name"]
                    stand_in.repos[repo_id] = request
                    return self._reply({"url": f"{stand_in.url}/{repo_id}", "name": repo_id})
                if path == "/api/validate-yaml":
                    return self._reply({"errors": [], "warnings": []})
                parts = path.split("/")  # /api/<models|spaces>/<org>/<name>/<action>[/<revision>]
                repo_id, action = "/".join(parts[3:5]), parts[5]
                if repo_id not in stand_in.repos:
                    return self._reply({"error": "Repository not found"}, 404)
                if action == "variables":
                    variable = json.loads(body)
                    stand_in.variables.setdefault(repo_id, {})[variable["key"]] = variable["value"]
                    return self._reply({k: {"value": v} for k, v in stand_in.variables[repo_id].items()})
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._reply({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                                  for f in files]})
                if action == "commit":
                    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                    for line in lines:
                        if line["key"] == "file":
                            target = stand_in.storage / repo_id / line["value"]["path"]
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(base64.b64decode(line["value"]["content"]))
                    stand_in.commits.append((repo_id, lines[0]["value"]["summary"]))
                    oid = f"{len(stand_in.commits):040x}"
                    return self._reply({"commitUrl": f"{stand_in.url}/{repo_id}/commit/{oid}", "commitOid": oid})
                return self._reply({"error": f"unknown endpoint {path}"}, 404)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
