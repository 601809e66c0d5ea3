"""The trained reader: which candidate sentence answers the question, and how surely."""
