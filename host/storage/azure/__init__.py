"""Storage over Azure Storage (Azurite or a real account): a lean REST path for the hot
queue and table operations, the Azure SDKs for the rest."""
