"""Load benchmarks for tablequeue's live fan-out, against a bare Flask-Sock floor relay.

`python -m bench --help`; the method and the figures are in docs/performance.md."""
