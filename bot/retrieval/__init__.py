"""Finding the passages: vector and BM25 search over the index, fused and filtered by
date and publisher, the best articles first. Reads what `ingest.index` stores."""
