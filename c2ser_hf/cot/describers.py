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


class EndpointDescriber:
    """An OpenAI-compatible `/chat/completions` server (vLLM, TGI, llama.cpp, OpenAI), `concurrency` requests in
    flight (the server batches them). Plain HTTP from the standard library: huggingface_hub's InferenceClient refuses
    every URL under HF_HUB_OFFLINE, which clusters set while they serve their own model."""

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None, max_new_tokens: int = 160,
                 concurrency: int = 16, timeout: float = 300.0):
        self.base_url, self.model, self.max_new_tokens = base_url.rstrip("/"), model, max_new_tokens
        self.api_key, self.concurrency, self.timeout = api_key, concurrency, timeout

    @property
    def identity(self) -> dict:
        return {"backend": "endpoint", "base_url": self.base_url, "model": self.model,
                "max_new_tokens": self.max_new_tokens}

    def _one(self, prompt: str, attempt: int, seed: int) -> str:
        import json
        import urllib.error
        import urllib.request

        url = f"{self.base_url}/chat/completions"
        body = json.dumps({
            "model": self.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": self.max_new_tokens,
            "temperature": 0.0 if attempt == 0 else RETRY_TEMPERATURE, "seed": seed,
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"LLM endpoint {url} answered HTTP {error.code}: {error.read()[:300]!r}") from error
        except (urllib.error.URLError, TimeoutError) as error:
            raise RuntimeError(f"LLM endpoint {url} cannot be reached: {error}") from error
        try:
            return (answer["choices"][0]["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError) as error:
            raise RuntimeError(f"LLM endpoint {url} answered without choices[0].message.content: {answer!r:.300}") from error

    def __call__(self, prompts: list[str], attempt: int, seed: int) -> list[str]:
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(lambda item: self._one(item[1], attempt, seed + item[0]), enumerate(prompts)))
