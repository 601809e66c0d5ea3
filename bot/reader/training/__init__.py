"""How the trained reader is made: its data from DEV (`collect`), its fit (`train`)."""
