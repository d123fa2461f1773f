"""Benchmarks of the portal: scale seeding, HTTP throughput and latency, the deadline sweep, the
collective import, certificate PDFs and concurrent transfers. See bench/README.md."""
