"""VCF-CDS: clinical decision support for vertebral compression fractures."""
