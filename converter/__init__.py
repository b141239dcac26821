"""ImageNet3D for the Hugging Face ecosystem: one library behind the builder, the CLI and the exports."""

__version__ = "0.1.0"
