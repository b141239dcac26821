"""What a source holds, counted: the figures `imagenet3d inspect` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from converter.source import SPLITS, Source


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

    def lines(self) -> list[str]:
        """A short human report, one fact per line."""
        out = [
            f"source:     {self.label}",
            f"layout:     {self.layout}",
            f"categories: {len(self.categories)} ({', '.join(self.categories[:8])}"
            + (", ...)" if len(self.categories) > 8 else ")"),
        ]
        for split, counts in self.splits.items():
            out.append(
                f"{split}: {counts.photos} photos, {counts.objects} objects, "
                f"{counts.without_pose} without pose"
            )
            for status, count in sorted(counts.statuses.items()):
                out.append(f"    {status:<18} {count}")
        return out


def summarize(source: Source) -> Summary:
    """Count photos, objects, statuses and pose-less objects of every split."""
    splits = {}
    for split in SPLITS:
        counts = SplitCounts()
        for category, image_id in source.image_ids(split):
            objects = source.objects(category, image_id)
            counts.photos += 1
            counts.objects += len(objects)
            counts.without_pose += sum(not (obj["distance"] or 0) > 0 for obj in objects)
            counts.statuses.update(obj["object_status"] or "(no status)" for obj in objects)
        splits[split] = counts
    return Summary(source.label, source.layout.kind, source.categories(), splits)
