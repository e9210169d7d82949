"""MS-STAN blocks, modality-attention fusion, heads, losses and the assembled model."""
