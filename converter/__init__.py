"""ImageNet3D for the Hugging Face ecosystem: the library behind the builder, CLI and exports."""

__version__ = "0.1.0"
