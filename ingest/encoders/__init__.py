"""Every model newsbot runs, all read from files inside installed packages (never
downloaded): the sentence model (int8 ONNX or torch), the static table distilled from it
for the index, and the cross-encoder reranker; `base` holds what they share."""
