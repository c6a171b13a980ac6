"""Singer target landing streams as Parquet in the Zuora Connector for AWS Athena layout."""

import os

# Measured with bench/: the system allocator hands batch memory back promptly, keeping peak
# RSS ~70 MB lower than Arrow's default pool, and is no slower. Set before pyarrow is first
# imported; an explicit ARROW_DEFAULT_MEMORY_POOL wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
