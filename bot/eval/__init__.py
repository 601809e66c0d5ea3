"""`newsbot eval`: question sets (data), how an answer is scored (metrics), the printed
tables (report), and the command that ingests a corpus and asks every question."""
