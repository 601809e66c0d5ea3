"""The reader's network: the packaged MiniLM reading a question and a sentence together.

all-MiniLM-L6-v2 was trained to embed one text at a time; here it reads
`[CLS] question [SEP] sentence [SEP]` and a linear head turns the mean of its last
hidden states into one logit: does this sentence answer the question. What training
changes is small: a low-rank update (LoRA) of every projection in the six layers, the
segment embeddings (the base never saw a second segment) and the head. Those are what
the repository holds (`adapter.safetensors`, about 3 MB); `merge` folds them into the
base weights for export, so answering runs one plain BERT and no LoRA code.

Torch is imported by the functions that need it: only training and the one-time export
run this module's code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The linear layers of a BERT layer that get a low-rank update.
TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
SEGMENTS = "embeddings.token_type_embeddings.weight"


def build(base_path: Path, rank: int, alpha: float) -> Any:
    """The trainable reader: the base frozen, LoRA factors, segment embeddings and head
    trainable. Returns a torch module whose forward gives one logit per pair."""
    import torch
    from torch import nn
    from transformers import AutoModel

    class LoraLinear(nn.Module):
        def __init__(self, base: nn.Linear) -> None:
            super().__init__()
            self.base = base
            self.a = nn.Parameter(torch.empty(rank, base.in_features))
            self.b = nn.Parameter(torch.zeros(base.out_features, rank))
            nn.init.kaiming_uniform_(self.a, a=5**0.5)
            self.scale = alpha / rank

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale

    class Reader(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(base_path), local_files_only=True)
            for parameter in self.bert.parameters():
                parameter.requires_grad = False
            for layer in self.bert.encoder.layer:
                for target in TARGETS:
                    owner_name, _, leaf = target.rpartition(".")
                    owner = layer.get_submodule(owner_name)
                    setattr(owner, leaf, LoraLinear(getattr(owner, leaf)))
            self.bert.get_parameter(SEGMENTS).requires_grad = True
            self.head = nn.Linear(self.bert.config.hidden_size, 1)

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            return self.head(pooled).squeeze(-1)

    return Reader()


def trained_state(model: Any) -> dict[str, Any]:
    """What the adapter file holds: every trainable tensor, by name."""
    return {
        name: parameter.detach().contiguous()
        for name, parameter in model.named_parameters()
        if parameter.requires_grad
    }


def merged(base_path: Path, adapter: dict[str, Any], alpha: float) -> Any:
    """The base with the adapter folded in: a plain BERT plus head, for export.

    Each updated weight is W + (alpha / rank) * B @ A, which is what the LoRA layer
    computes, so the merged network gives the trained one's logits.
    """
    import torch
    from torch import nn
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(base_path), local_files_only=True).eval()
    with torch.no_grad():
        for index, layer in enumerate(bert.encoder.layer):
            for target in TARGETS:
                prefix = f"bert.encoder.layer.{index}.{target}"
                a, b = adapter[f"{prefix}.a"], adapter[f"{prefix}.b"]
                linear = layer.get_submodule(target)
                linear.weight += (alpha / a.shape[0]) * (b @ a)
        bert.get_parameter(SEGMENTS).copy_(adapter[f"bert.{SEGMENTS}"])
    head = nn.Linear(bert.config.hidden_size, 1)
    with torch.no_grad():
        head.weight.copy_(adapter["head.weight"])
        head.bias.copy_(adapter["head.bias"])

    class Merged(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert, self.head = bert, head

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            return self.head(pooled).squeeze(-1)

    return Merged().eval()
