"""Benchmarks of newsbot's speed (`make bench`); quality is `newsbot eval`'s job."""
