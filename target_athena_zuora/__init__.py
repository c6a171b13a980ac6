"""Singer target landing streams as Parquet in the Zuora Connector for AWS Athena layout."""
