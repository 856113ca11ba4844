"""Sample bureau exports generator (``sewershare sample``): see docs/sample.md."""
from pipelines.sample.generator import generate
from pipelines.sample.truth import GENERATOR_VERSION

__all__ = ["generate", "GENERATOR_VERSION"]
