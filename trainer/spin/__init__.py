"""Pure SPIN domain: the label taxonomy, segmentation and the offline classifier."""
