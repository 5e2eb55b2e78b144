"""fakeless corpus generator (scripts/corpus); see docs/corpus.md."""
