"""Write-ups of a derivation: terminal text, Markdown and JSON. They format steps; they never compute."""

from .jsonout import derivation_dict, render_json
from .markdown import render_markdown
from .text import render_text

__all__ = ["render_text", "render_markdown", "render_json", "derivation_dict"]
