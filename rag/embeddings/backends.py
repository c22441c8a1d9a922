"""The model behind the Embedder: one `run(texts) -> unit vectors` per backend.

  torch      sentence-transformers on PyTorch (the reference vectors)
  onnx       the same model exported to ONNX, graph optimised, run by onnxruntime: the same vectors
  onnx-int8  the ONNX model with int8 weights (dynamic quantisation): faster, slightly different vectors

The ONNX backends tokenize with the `tokenizers` library from the model's own tokenizer.json and never
import torch, so a process that uses them starts without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "onnx", "onnx-int8")
# Vectors a backend computes, up to float rounding: stores embedded by one family can be queried by any
# backend of the same family, and by no other.
FAMILY = {"torch": "float", "onnx": "float", "onnx-int8": "int8"}
# What REGBRIEF_EMBEDDING_BACKEND=auto (the default) runs for each family of vectors a store already has,
# and for a new store. int8 matches float on ObliQA dev (within 0.01) and passes the eval gate, but its
# vectors depend on the batch a text is embedded in (dynamic quantisation takes each activation's range
# over the whole batch: a question alone and beside a long passage differ by cosine 0.986), so the same
# question can be answered differently by two processes. New stores therefore get float vectors (onnx:
# the same as torch, batch or not); a store made with int8 keeps being queried with int8.
AUTO = {"float": "onnx", "int8": "onnx-int8", None: "onnx"}


def resolve(setting: str, recorded: str | None = None) -> str:
    """The backend to run for a setting ("auto" or a backend) and the signature a store recorded, if any."""
    if setting != "auto":
        return setting
    backend = recorded.rpartition("@")[2] if recorded else None
    return AUTO[FAMILY.get(backend)] if backend in FAMILY else AUTO[None]


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
    def __init__(self, model_dir: Path, variant: str, device: str, cache_dir: str, name: str, threads: int = 0):
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

    def run(self, texts: list[str]) -> np.ndarray:
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
    if backend in ("onnx", "onnx-int8"):
        return OnnxModel(model_dir, "int8" if backend == "onnx-int8" else "fp32", device, cache_dir, name)
    raise ValueError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
