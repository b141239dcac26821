"""A dataset card taken apart per configuration, so that a push replaces only what it brings.

A card is made of, for each configuration, its `configs` entry and `dataset_info` in the front
matter and its section in the body; of the front-matter keys this tool writes; and of what the
maintainers wrote themselves: other front-matter keys, and text outside the generated part of
the body, which markers delimit. Merging a folder's card over the one on the Hub keeps the
Hub's configurations the folder does not hold and everything the maintainers wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import datasets
import yaml
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard

from converter.outputs.configurations import CONFIGURATIONS

START = (
    "<!-- imagenet3d:generated -- written by `imagenet3d export` and `imagenet3d push`: "
    "everything down to the imagenet3d:generated-end marker is replaced by the next push; "
    "write your own text above or below it -->"
)
END = "<!-- imagenet3d:generated-end -->"
_GENERATED = re.compile(
    r"<!-- imagenet3d:generated\b.*?-->\n?(?P<generated>.*?)<!-- imagenet3d:generated-end -->\n?",
    re.S,
)
_SECTION = re.compile(
    r"<!-- imagenet3d:config (?P<config>\S+) -->\n.*?<!-- imagenet3d:config-end (?P=config) -->\n",
    re.S,
)
# Front-matter keys a configuration owns; the card's own keys are named by the card writer.
CONFIG_KEYS = ("configs", "dataset_info")


class CardError(ValueError):
    """A card that cannot be read: its front matter is not valid YAML or not a dataset card's."""


def section(config: str, text: str) -> str:
    """A configuration's part of the body, between the markers a later merge finds it by."""
    return (
        f"<!-- imagenet3d:config {config} -->\n{text.strip()}\n"
        f"<!-- imagenet3d:config-end {config} -->\n"
    )


@dataclass
class CardParts:
    """Per configuration its `configs` entry, `dataset_info` and body section; and the parts of
    the card the maintainers wrote: front-matter keys (`metadata`) and text around the
    generated part (`above`, `below`)."""

    entries: dict[str, dict[str, Any]]
    infos: dict[str, datasets.DatasetInfo]
    sections: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)
    above: str = ""
    below: str = ""

    def merged_over(self, existing: CardParts) -> CardParts:
        """These configurations replace the existing card's; its others, and everything its
        maintainers wrote, stay."""

        def merge(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
            return in_config_order({**theirs, **ours})

        return replace(
            self,
            entries=merge(self.entries, existing.entries),
            infos=merge(self.infos, existing.infos),
            sections=merge(self.sections, existing.sections),
            metadata=existing.metadata,
            above=existing.above,
            below=existing.below,
        )


def in_config_order(mapping: dict[str, Any]) -> dict[str, Any]:
    """This tool's configurations in their usual order, then any others as they came."""
    rank = {config: index for index, config in enumerate(CONFIGURATIONS)}
    return dict(sorted(mapping.items(), key=lambda item: rank.get(item[0], len(rank))))


def parse_card(text: str, own_keys: set[str]) -> CardParts:
    """An existing card taken apart; keys in `own_keys` are the writer's, so not kept."""
    try:
        card = DatasetCard(text)
        entries = MetadataConfigs.from_dataset_card_data(card.data)
        infos = DatasetInfosDict.from_dataset_card_data(card.data)
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as error:
        said = " ".join(str(error).split())
        raise CardError(f"its card cannot be read ({type(error).__name__}: {said})") from None
    metadata = {
        key: value
        for key, value in card.data.to_dict().items()
        if key not in own_keys and key not in CONFIG_KEYS
    }
    generated = _GENERATED.search(card.text)
    if generated is None:  # no generated part: all of the body is the maintainers' own
        above, below, sections = "", card.text.strip(), {}
    else:
        above, below = card.text[: generated.start()].strip(), card.text[generated.end() :].strip()
        sections = {
            match["config"]: match[0] for match in _SECTION.finditer(generated["generated"])
        }
    return CardParts(dict(entries), dict(infos), sections, metadata, above, below)
