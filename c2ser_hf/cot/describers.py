"""Instruct-LLM backends that turn Table I prompts into descriptions: a local transformers model (batched,
left-padded) or any OpenAI-compatible chat endpoint (a vLLM server for corpus scale). The first attempt is greedy;
retries sample with a seed, so a rerun of the same shard gives the same text."""

from concurrent.futures import ThreadPoolExecutor

RETRY_TEMPERATURE = 0.8


class TransformersDescriber:
    """A local causal LM; uses the tokenizer's chat template when it has one, else the raw prompt."""

    def __init__(self, model, tokenizer=None, batch_size: int = 8, max_new_tokens: int = 160, device=None, dtype=None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = model if isinstance(model, str) else model.name_or_path
        if isinstance(model, str):
            model = AutoModelForCausalLM.from_pretrained(model, dtype=dtype or "auto")
        self.tokenizer = tokenizer or AutoTokenizer.from_pretrained(self.name)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(device).eval()
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens

    @property
    def identity(self) -> dict:
        return {"backend": "transformers", "model": self.name, "max_new_tokens": self.max_new_tokens,
                "batch_size": self.batch_size}

    def _text(self, prompt: str) -> str:
        if self.tokenizer.chat_template:
            return self.tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
            )
        return prompt

    def __call__(self, prompts: list[str], attempt: int, seed: int) -> list[str]:
        import torch

        outputs = []
        for start in range(0, len(prompts), self.batch_size):
            batch = self.tokenizer(
                [self._text(p) for p in prompts[start:start + self.batch_size]], return_tensors="pt", padding=True,
                add_special_tokens=not self.tokenizer.chat_template,
            ).to(self.model.device)
            sampling = {"do_sample": False} if attempt == 0 else {"do_sample": True, "temperature": RETRY_TEMPERATURE}
            torch.manual_seed(seed + start)
            with torch.inference_mode():
                generated = self.model.generate(
                    **batch, max_new_tokens=self.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id, **sampling
                )
            new = generated[:, batch["input_ids"].shape[1]:]
            outputs += [text.strip() for text in self.tokenizer.batch_decode(new, skip_special_tokens=True)]
        return outputs


class EndpointDown(RuntimeError):
    """The endpoint failed every one of the first requests of a build: it is down or misconfigured."""


class RequestFailed(RuntimeError):
    """One description request got no usable answer, retries included; the message names the endpoint and why."""


class _Exchange:
    """One POST whose whole exchange (connection, headers, body) ends by a deadline: a server that accepts and never
    answers, or trickles its answer byte by byte, has its socket shut when time is up. http.client rather than urllib,
    whose timeout bounds each socket operation only, and hides the socket; the connection is direct (no HTTP proxy)."""

    def __init__(self, url: str, timeout: float):
        import http.client
        from urllib.parse import urlsplit

        self.parts = urlsplit(url)
        self.timeout = timeout
        connection_class = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
        self.connection = connection_class(self.parts.hostname, self.parts.port, timeout=timeout)
        self.socket, self.timed_out = None, False

    def _expire(self) -> None:
        import socket

        self.timed_out = True
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def post(self, body: bytes, headers: dict) -> tuple[int, bytes]:
        import threading
        import time

        deadline = time.monotonic() + self.timeout
        try:
            self.connection.connect()
        except TimeoutError:
            raise TimeoutError(f"accepted no connection within {self.timeout:g} s") from None
        # kept here: http.client lets go of the connection's socket once a response says it will close
        self.socket = self.connection.sock
        timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._expire)
        timer.start()
        try:
            self.connection.request("POST", self.parts.path or "/", body, headers)
            response = self.connection.getresponse()
            data = response.read()
        except Exception as error:
            if self.timed_out or isinstance(error, TimeoutError):
                raise TimeoutError(f"no complete answer within {self.timeout:g} s") from None
            raise
        finally:
            timer.cancel()
            self.connection.close()
        if self.timed_out:
            raise TimeoutError(f"no complete answer within {self.timeout:g} s")
        return response.status, data


class EndpointDescriber:
    """An OpenAI-compatible `/chat/completions` server (vLLM, TGI, llama.cpp, OpenAI), `concurrency` requests in
    flight (the server batches them). Plain HTTP from the standard library: huggingface_hub's InferenceClient refuses
    every URL under HF_HUB_OFFLINE, which clusters set while they serve their own model.

    Each request must be answered whole within `timeout` seconds; a timeout, a refused or dropped connection, an
    HTTP 429 or 5xx, or an answer that is not a chat completion is retried `request_retries` times after `backoff`,
    2 × `backoff`, … seconds. A request that still fails comes back as a `RequestFailed` in place of its text (the
    build then keeps the template for that row, with the reason). When each of the first `down_after` requests
    fails, the endpoint is taken to be down and `EndpointDown` is raised."""

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None, max_new_tokens: int = 160,
                 concurrency: int = 16, timeout: float = 30.0, request_retries: int = 2, backoff: float = 0.5,
                 down_after: int = 8):
        import threading

        self.base_url, self.model, self.max_new_tokens = base_url.rstrip("/"), model, max_new_tokens
        self.api_key, self.concurrency, self.timeout = api_key, concurrency, timeout
        self.request_retries, self.backoff, self.down_after = request_retries, backoff, down_after
        self._lock = threading.Lock()
        self._answered, self._failed, self._down = 0, 0, False

    @property
    def identity(self) -> dict:
        return {"backend": "endpoint", "base_url": self.base_url, "model": self.model,
                "max_new_tokens": self.max_new_tokens}

    def _attempt(self, url: str, body: bytes, headers: dict) -> tuple[str | None, str, bool]:
        """(text, "") on success, else (None, reason, whether a retry may help)."""
        import http.client
        import json

        try:
            status, data = _Exchange(url, self.timeout).post(body, headers)
        except TimeoutError as error:
            return None, str(error), True
        except (OSError, http.client.HTTPException) as error:
            return None, f"cannot be reached ({type(error).__name__}: {error})", True
        shown = " ".join(data[:400].decode("utf-8", "replace").split())[:160]
        if status != 200:
            return None, f"answered HTTP {status}: {shown!r}", status == 429 or status >= 500
        try:
            answer = json.loads(data)
        except ValueError:
            return None, f"answered something that is not JSON: {shown!r}", True
        try:
            return (answer["choices"][0]["message"]["content"] or "").strip(), "", False
        except (KeyError, IndexError, TypeError):
            return None, f"answered without choices[0].message.content: {answer!r:.200}", True

    def _one(self, prompt: str, attempt: int, seed: int):
        import json
        import time

        url = f"{self.base_url}/chat/completions"
        if self._down:
            return RequestFailed(f"LLM endpoint {url} is down")
        body = json.dumps({
            "model": self.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": self.max_new_tokens,
            "temperature": 0.0 if attempt == 0 else RETRY_TEMPERATURE, "seed": seed,
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for retry in range(self.request_retries + 1):
            if retry:
                time.sleep(self.backoff * 2 ** (retry - 1))
            text, reason, retriable = self._attempt(url, body, headers)
            if text is not None or not retriable or self._down:
                break
        with self._lock:
            if text is not None:
                self._answered += 1
                return text
            self._failed += 1
            if not self._answered and self._failed >= self.down_after:
                self._down = True
                raise EndpointDown(f"LLM endpoint {url} failed each of the first {self.down_after} requests "
                                   f"(it looks down); last error: {reason}")
        return RequestFailed(f"LLM endpoint {url} {reason}")

    def __call__(self, prompts: list[str], attempt: int, seed: int) -> list:
        pool = ThreadPoolExecutor(self.concurrency)
        try:
            return list(pool.map(lambda item: self._one(item[1], attempt, seed + item[0]), enumerate(prompts)))
        finally:
            pool.shutdown(cancel_futures=True)  # once the endpoint is down, queued requests are not sent
