"""The task hub in Azure Storage: names, queue messages, history and instance rows, partitions."""
