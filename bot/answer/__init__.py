"""Writing the answer from the retrieved passages: the extractive answerer (sentences
picked and cited), the `Writer` interface, and the optional language-model writers with
the check of their answers against the sources."""
