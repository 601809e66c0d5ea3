"""What an article says beyond its words: whom it quotes, and whom it names.

Read once at ingest, by rules rather than a statistical tagger: spaCy's small English
model ran at 5.5 articles/s here (NER alone, 2 cores), which would take the DEV corpus
past its 10-minute ingest budget several times over.
"""
