"""SAM templates: translate `AWS::Serverless-2016-10-31` templates into Kumo manifests (pure; docs/sam.md).

`translate(text, base_dir=..., overrides=...)` gives a :class:`Translation`: the manifests (dicts, as
`kubectl apply` takes them), the layers to publish, and every item Kumo could not map (logical id,
type, reason) — nothing is dropped silently.
"""

from kumo.sam.loader import SAM_TRANSFORM, TemplateError, is_sam_template, load_template
from kumo.sam.state import LayerSource, Output, QueueSource, Translation, Unmapped
from kumo.sam.template import parse_overrides, translate

__all__ = [
    "SAM_TRANSFORM",
    "LayerSource",
    "Output",
    "QueueSource",
    "TemplateError",
    "Translation",
    "Unmapped",
    "is_sam_template",
    "load_template",
    "parse_overrides",
    "translate",
]
