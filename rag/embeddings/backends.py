"""The model behind the Embedder: one `run(texts) -> unit vectors` per backend.

  torch      sentence-transformers on PyTorch (the reference vectors)
  onnx       the same model exported to ONNX, graph optimised, run by onnxruntime: the same vectors
  onnx-int8  the ONNX model with int8 weights (dynamic quantisation), each text run alone: about twice as
             fast, slightly different vectors (mean cosine about 0.99 to the float ones)

The ONNX backends tokenize with the `tokenizers` library from the model's own tokenizer.json and never
import torch, so a process that uses them starts without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
# The vectors each backend computes, as a store records them (its signature is "model@" + this). A change
# of recipe that changes a backend's vectors gets a new name here, so a store made by the old recipe is
# refused (and converted by `regbrief reembed`), never mixed with the new vectors. "onnx-int8" alone named
# the int8 vectors of a graph traced with SDPA attention and quantised per batch; those stores are refused.
VECTORS = {"torch": "torch", "onnx": "onnx", "onnx-int8": "onnx-int8-alone"}
_BACKEND_OF = {v: k for k, v in VECTORS.items()}
# Vectors a backend computes, up to float rounding: stores embedded by one family can be queried by any
# backend of the same family, and by no other.
FAMILY = {"torch": "float", "onnx": "float", "onnx-int8": "int8"}
# What REGBRIEF_EMBEDDING_BACKEND=auto (the default) runs for each family of vectors a store already has,
# and for a new store. int8 is the default for new stores: it embeds about twice as fast and retrieves as
# float does on ObliQA (bench/README.md, "Figures behind the code"). Dynamic quantisation takes each
# activation's range over the whole input, so int8 runs every text alone: its vector depends on the text
# only, not on the texts beside it in a batch (and running alone wastes nothing on padding). A store with
# float vectors keeps being queried with float ones.
AUTO = {"float": "onnx", "int8": "onnx-int8", None: "onnx-int8"}


def backend_of(signature: str) -> str | None:
    """The backend that computes the vectors a signature ("model@vectors") names; None for vectors no
    backend computes any more (an older recipe)."""
    return _BACKEND_OF.get(signature.rpartition("@")[2])


def resolve(setting: str, recorded: str | None = None) -> str:
    """The backend to run for a setting ("auto" or a backend) and the signature a store recorded, if any.
    A store whose vectors no backend computes any more gets the default, which it then refuses clearly."""
    if setting != "auto":
        return setting
    backend = backend_of(recorded) if recorded else None
    return AUTO[FAMILY[backend]] if backend else AUTO[None]


def load_tokenizer(model_dir: Path, max_length: int | None):
    """The model's fast tokenizer. tokenizer.json of all-MiniLM-L6-v2 ships with truncation and fixed
    padding at 128, which is not what sentence-transformers does (256, pad to the longest): reset both."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    if max_length:
        tok.enable_truncation(max_length=max_length)
        pad = tok.token_to_id("[PAD]") or 0
        tok.enable_padding(pad_id=pad, pad_token="[PAD]")
    return tok


class TorchModel:
    def __init__(self, model_dir: Path, device: str):
        from sentence_transformers import SentenceTransformer

        self.st = SentenceTransformer(str(model_dir), device=device)
        self.max_tokens = self.st.max_seq_length
        dim = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        self.dimension = dim()

    def run(self, texts: list[str]) -> np.ndarray:
        return self.st.encode(texts, batch_size=max(len(texts), 1), normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=False).astype(np.float32, copy=False)


class OnnxModel:
    """An ONNX file run by onnxruntime. `alone`: every text is its own model call, for a model whose vectors
    would otherwise depend on the other texts of the batch (int8's dynamic quantisation)."""

    def __init__(self, model_dir: Path, variant: str, device: str, cache_dir: str, name: str, threads: int = 0,
                 alone: bool = False):
        import onnxruntime as ort

        from rag.embeddings.export import max_seq_length, onnx_path

        self.path = onnx_path(model_dir, variant, cache_dir, name)
        self.max_tokens = max_seq_length(model_dir)
        self.tokenizer = load_tokenizer(model_dir, self.max_tokens)
        opts = ort.SessionOptions()
        # The file is already optimised offline; the remaining (hardware-specific) passes are cheap.
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        if (os.getloadavg()[0] if hasattr(os, "getloadavg") else 0) > (os.cpu_count() or 1):
            # On an oversubscribed machine spinning threads burn the CPU the other processes need.
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        if device.startswith("cuda"):
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        self.session = ort.InferenceSession(str(self.path), opts, providers=providers)
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        self.alone = alone

    def run(self, texts: list[str]) -> np.ndarray:
        if self.alone and len(texts) > 1:
            return np.concatenate([self._run([t]) for t in texts])
        return self._run(texts)

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
        }
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)


def load(model_dir: Path, backend: str, device: str, cache_dir: str, name: str):
    if backend == "torch":
        return TorchModel(model_dir, device)
    if backend == "onnx":
        return OnnxModel(model_dir, "fp32", device, cache_dir, name)
    if backend == "onnx-int8":
        return OnnxModel(model_dir, "int8", device, cache_dir, name, alone=True)
    raise ValueError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
