"""Reading the question: its words, the clause that asks, its time phrases ("this week"),
and what a follow-up refers back to. The first step of an answer; imports nothing above."""
