"""Benchmarks: `hotline bench NAME`, each printing one JSON object on its last line."""
