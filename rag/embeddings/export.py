"""Build the ONNX files for a sentence-transformers model once, on this machine, and cache them.

Why not sentence-transformers' own `backend="onnx"`: it needs optimum-onnx, which pins transformers below
what sentence-transformers 6 needs. So: `torch.onnx.export` of a small wrapper (transformer + mean pooling
+ L2 normalisation, the model's own three modules), onnxruntime's BERT graph optimiser, and for `int8`
onnxruntime's `quantize_dynamic` of that optimised file (int8 weights, activations quantised at run time
over each model call's input, which is why the int8 backend runs each text alone).

Files live outside the repository (REGBRIEF_MODEL_CACHE, default ~/.cache/regbrief/models), one folder per
model weights + onnxruntime version, written atomically under a file lock so concurrent first uses build
once. Only building needs torch; loading the result does not.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

VARIANTS = ("fp32", "int8")
FORMAT_VERSION = "5"  # bump when the export recipe changes, so old files are not reused


def cache_root(configured: str = "") -> Path:
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "regbrief" / "models"


def model_key(model_dir: Path, name: str = "") -> str:
    """Name of the cache folder: the model's name and a digest of its weights' identity (path,
    size, mtime: cheap at every start; a reinstalled or changed model gets new files)."""
    import onnxruntime

    h = hashlib.sha256(f"{FORMAT_VERSION}\x00{onnxruntime.__version__}".encode())
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")) + [model_dir / "config.json"]:
        if f.exists():
            st = f.stat()
            h.update(f"{f.resolve()}\x00{st.st_size}\x00{st.st_mtime_ns}".encode())
    return f"{name or model_dir.name}-{h.hexdigest()[:12]}"


def max_seq_length(model_dir: Path) -> int:
    cfg = model_dir / "sentence_bert_config.json"
    if cfg.exists():
        return int(json.loads(cfg.read_text()).get("max_seq_length") or 512)
    return 512


def onnx_path(model_dir: Path, variant: str, cache_dir: str = "", name: str = "") -> Path:
    """The ONNX file for `variant` (fp32 or int8), built first if missing."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r}: use one of {VARIANTS}")
    folder = cache_root(cache_dir) / model_key(model_dir, name)
    target = folder / f"model-{variant}.onnx"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same files
        if not target.exists():
            _build(model_dir, folder, variant)
    return target


def _build(model_dir: Path, folder: Path, variant: str) -> None:
    fp32 = folder / "model-fp32.onnx"
    if not fp32.exists():
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            _export_optimised(model_dir, Path(tmp), fp32)
    if variant == "int8":
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            out = Path(tmp) / "int8.onnx"
            # Every weight product quantised, the fused Attention's too, with one scale per output channel
            # (one per tensor moves the vectors several times further from the float ones). The fused graph
            # has onnxruntime's own ops, which ONNX shape inference cannot type: their outputs are float.
            quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
            os.replace(out, folder / "model-int8.onnx")


def _export_optimised(model_dir: Path, tmp: Path, out: Path) -> None:
    raw = tmp / "raw.onnx"
    _export(model_dir, raw)
    opt = tmp / "opt.onnx"
    _optimise(raw, opt, model_dir)
    os.replace(opt, out)


def _export(model_dir: Path, out: Path) -> None:
    """The model traced to ONNX, with BERT's attention as plain matrix products ("eager"), the pattern
    onnxruntime's optimiser fuses into one Attention operator per layer (the default, SDPA, traces to a
    graph it leaves unfused: about 300 operators against 56, more work per text)."""
    import torch
    from transformers import AutoModel

    class Wrapper(torch.nn.Module):
        """The three sentence-transformers modules in one graph. Keyword arguments: BERT's positional
        order is not (ids, mask, token types) in every transformers version."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # a padded row, so the traced graph keeps the attention mask
    dyn = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes: the dynamic axes cover them
        torch.onnx.export(Wrapper(model), (ids, mask, torch.zeros_like(ids)), str(out),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["embedding"],
                          dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                                        "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)


def _optimise(src: Path, out: Path, model_dir: Path) -> None:
    """onnxruntime's BERT fusions (attention, layer norm, GELU) saved into the file, so every load is
    fast and the int8 variant quantises the fused graph."""
    from onnxruntime.transformers.optimizer import optimize_model

    cfg = json.loads((model_dir / "config.json").read_text())
    m = optimize_model(str(src), model_type="bert", num_heads=int(cfg.get("num_attention_heads", 0)),
                       hidden_size=int(cfg.get("hidden_size", 0)), opt_level=1)
    m.save_model_to_file(str(out))
