"""What a source holds, counted: the figures `imagenet3d inspect` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from converter.core.errors import printable
from converter.core.progress import progress_bar
from converter.pose.geometry import has_pose
from converter.read.source import SPLITS, Source


@dataclass
class SplitCounts:
    photos: int = 0
    objects: int = 0
    without_pose: int = 0
    statuses: Counter[str] = field(default_factory=Counter)


@dataclass
class Summary:
    label: str
    layout: str
    categories: list[str]
    splits: dict[str, SplitCounts]
    in_both: list[tuple[str, str]]

    def lines(self) -> list[str]:
        """A short human report, one fact per line (names from the source escaped, `printable`)."""
        out = [
            f"source:     {printable(self.label)}",
            f"layout:     {self.layout}",
            f"categories: {len(self.categories)} ({printable(', '.join(self.categories[:8]))}"
            + (", ...)" if len(self.categories) > 8 else ")"),
        ]
        for split, counts in self.splits.items():
            out.append(
                f"{split}: {counts.photos} photos, {counts.objects} objects, "
                f"{counts.without_pose} without pose"
            )
            for status, count in sorted(counts.statuses.items()):
                out.append(f"    {status:<18} {count}")
        first = f", first {printable('/'.join(self.in_both[0]))}" if self.in_both else ""
        out.append(f"photos in both splits: {len(self.in_both)}{first}")
        return out


def summarize(source: Source) -> Summary:
    """Count photos, objects, statuses and pose-less objects of every split.

    Photos listed in both splits are counted too: a model evaluated on them has seen them.
    """
    splits = {}
    listed = {split: source.image_ids(split) for split in SPLITS}
    for split in SPLITS:
        counts = SplitCounts()
        for category, image_id in progress_bar(iterable=listed[split], desc=split, unit="photo"):
            objects = source.objects(category, image_id)
            counts.photos += 1
            counts.objects += len(objects)
            counts.without_pose += sum(not has_pose(obj) for obj in objects)
            counts.statuses.update(obj["object_status"] or "(no status)" for obj in objects)
        splits[split] = counts
    in_both = sorted(set.intersection(*(set(pairs) for pairs in listed.values())))
    return Summary(source.label, source.layout.kind, source.categories(), splits, in_both)
