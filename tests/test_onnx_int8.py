"""Which nodes the int8 path keeps fp32 (models/onnx_int8.kept_fp32), on node names as torch.onnx exports them."""

from __future__ import annotations

from ls_pipeline.models.onnx_int8 import kept_fp32

PER_LAYER = [
    "attention/self/query/MatMul",
    "attention/self/key/MatMul",
    "attention/self/value/MatMul",
    "attention/self/MatMul",
    "attention/output/dense/MatMul",
    "intermediate/dense/MatMul",
    "output/dense/MatMul",
]


def _names(layers: int) -> list[str]:
    encoder = [f"/model/encoder/layer.{i}/{part}" for i in range(layers) for part in PER_LAYER]
    return ["/model/embeddings/word_embeddings/Gather", "/model/embeddings/LayerNorm/Add", *encoder]


def test_six_layers_keep_the_measured_sensitive_nodes() -> None:
    kept = {name.removeprefix("/model/encoder/") for name in kept_fp32(_names(6))}
    assert kept == {
        "/model/embeddings/word_embeddings/Gather",
        *(f"layer.{i}/intermediate/dense/MatMul" for i in range(5)),
        *(f"layer.{i}/output/dense/MatMul" for i in range(3)),
        *(f"layer.{i}/attention/self/value/MatMul" for i in range(2, 6)),
    }


def test_query_key_and_attention_output_are_always_quantized() -> None:
    kept = kept_fp32(_names(12))
    assert not [name for name in kept if any(p in name for p in ("query", "key", "attention/output", "self/MatMul"))]
    assert "/model/encoder/layer.11/intermediate/dense/MatMul" not in kept  # the last layer's FFN-in is int8
    assert (
        "/model/encoder/layer.5/output/dense/MatMul" in kept
        and "/model/encoder/layer.6/output/dense/MatMul" not in kept
    )


def test_unknown_names_keep_only_the_embedding_lookup() -> None:
    assert kept_fp32(["MatMul_0", "MatMul_1", "/model/embeddings/word_embeddings/Gather"]) == [
        "/model/embeddings/word_embeddings/Gather"
    ]
