"""Dev tools, outside the runtime package: the demo data generator and the benchmark."""
